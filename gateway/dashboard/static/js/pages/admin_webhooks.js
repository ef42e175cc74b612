// A project's webhook endpoints (a new one's signing secret shown once, disable) and the chosen
// endpoint's delivery log, each delivery with its attempts; a failed delivery is sent again.
import { adminRequest } from "../admin_api.js";
import { openOnProject, secretOnce } from "../admin_widgets.js";
import { h, replace, table } from "../dom.js";
import { dateTime } from "../format.js";
import { code, confirmingButton, cursorPager, errorNotice, loading, pageHeader } from "../widgets.js";

const EVENT_TYPES = ["fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"];
const REFRESH_MS = 2000;
const DELIVERY_STATUS = { delivered: "succeeded", failed: "failed", pending: "queued" };

function statusBadge(label, status) {
  return h("span", { class: `badge status-${status}` }, label);
}

function attemptsCell(delivery) {
  if (delivery.attempts.length === 0) return "None yet";
  const last = delivery.attempts[delivery.attempts.length - 1];
  const answer = last.status_code ? `HTTP ${last.status_code}` : (last.error ?? "no answer");
  return h(
    "span",
    {},
    `${delivery.attempts.length} · last ${dateTime(last.attempted_at)}: `,
    h("span", { class: last.succeeded ? "" : "attempt-error" }, answer),
  );
}

function endpointForm(projectId, onCreated) {
  const url = h("input", {
    id: "endpoint-url",
    name: "url",
    type: "url",
    required: true,
    placeholder: "https://…",
  });
  const message = h("p", { class: "field-error", role: "alert", hidden: true });
  const boxes = EVENT_TYPES.map((type) =>
    h(
      "label",
      { class: "inline" },
      h("input", { type: "checkbox", name: "event_types", value: type, checked: true }),
      type,
    ),
  );
  const submit = h("button", { type: "submit", class: "button primary" }, "Add endpoint");
  const form = h(
    "form",
    { class: "stack", "aria-label": "New webhook endpoint" },
    h("div", { class: "field" }, h("label", { for: "endpoint-url" }, "Endpoint URL"), url),
    h("fieldset", { class: "checks" }, h("legend", {}, "Events"), boxes),
    message,
    h("div", {}, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.hidden = true;
    const eventTypes = [...form.querySelectorAll("input[name=event_types]:checked")].map((box) => box.value);
    try {
      const endpoint = await adminRequest(`/projects/${projectId}/webhooks`, {
        method: "POST",
        json: { url: url.value.trim(), event_types: eventTypes },
      });
      url.value = "";
      onCreated(endpoint);
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Webhooks");
  const pickerSlot = h("div", { class: "filters" });
  const body = h("div", { class: "stack-sections", "aria-busy": "true" }, loading("Loading webhooks"));
  view.append(pageHeader("Webhooks"), pickerSlot, body);

  function show(project, endpoints, created) {
    const chosenId = search.get("endpoint");
    const chosen = endpoints.find((endpoint) => endpoint.id === chosenId) ?? endpoints[0] ?? null;
    const link = (endpoint) => `admin/webhooks?project=${project.id}&endpoint=${endpoint.id}`;
    const endpointsTable = table({
      caption: "Webhook endpoints",
      empty: "No endpoints yet.",
      rows: endpoints,
      columns: [
        {
          label: "URL",
          cell: (endpoint) =>
            h(
              "a",
              { href: link(endpoint), "aria-current": endpoint === chosen ? "true" : false },
              endpoint.url,
            ),
        },
        {
          label: "Events",
          cell: (endpoint) => endpoint.event_types.map((type) => type.split(".").pop()).join(", "),
        },
        { label: "Created", cell: (endpoint) => dateTime(endpoint.created_at) },
        {
          label: "Status",
          cell: (endpoint) =>
            endpoint.disabled_at ? statusBadge("Disabled", "cancelled") : statusBadge("Active", "succeeded"),
        },
        {
          label: "Actions",
          class: "actions-cell",
          cell: (endpoint) =>
            endpoint.disabled_at
              ? "—"
              : confirmingButton(
                  "Disable",
                  "Confirm disable",
                  async () => {
                    try {
                      await adminRequest(`/webhooks/${endpoint.id}`, { method: "DELETE" });
                      await reload(project);
                    } catch (error) {
                      body.prepend(errorNotice(error));
                    }
                  },
                  "button small quiet",
                ),
        },
      ],
    });
    replace(
      body,
      h(
        "section",
        { class: "card", "aria-labelledby": "endpoints-title" },
        h("h2", { id: "endpoints-title" }, `Endpoints of ${project.name}`),
        created ? secretOnce(`Signing secret of ${created.url}`, created.secret) : null,
        endpointsTable,
        h("h3", {}, "Add an endpoint"),
        endpointForm(project.id, (endpoint) => reload(project, endpoint)),
      ),
      chosen ? deliveryLog(chosen) : null,
    );
    body.setAttribute("aria-busy", "false");
  }

  async function reload(project, created) {
    const endpoints = (await adminRequest(`/projects/${project.id}/webhooks`)).data;
    if (!signal.aborted) show(project, endpoints, created);
  }

  function deliveryLog(endpoint) {
    const results = h("div", {}, loading("Loading deliveries"));
    const pager = cursorPager(() => load());
    const columns = [
      { label: "Delivery", cell: (delivery) => code(delivery.id) },
      { label: "Event", cell: (delivery) => delivery.event_type },
      { label: "Created", class: "nowrap", cell: (delivery) => dateTime(delivery.created_at) },
      { label: "Status", cell: (delivery) => statusBadge(delivery.status, DELIVERY_STATUS[delivery.status]) },
      { label: "Attempts", cell: attemptsCell },
      {
        label: "Actions",
        class: "actions-cell",
        cell: (delivery) => {
          if (delivery.status !== "failed" || endpoint.disabled_at) return "—";
          const button = h("button", { type: "button", class: "button small" }, "Retry");
          button.setAttribute("aria-label", `Retry delivery ${delivery.id}`);
          button.addEventListener("click", async () => {
            button.disabled = true;
            try {
              await adminRequest(`/webhook_deliveries/${delivery.id}/retry`, { method: "POST" });
              shown = "";
              await load();
            } catch (error) {
              results.prepend(errorNotice(error));
              button.disabled = false;
            }
          });
          return button;
        },
      },
    ];
    let timer = null;
    let shown = "";
    signal.addEventListener("abort", () => clearTimeout(timer));

    async function load() {
      clearTimeout(timer);
      try {
        const params = new URLSearchParams({ limit: "20" });
        if (pager.after) params.set("after", pager.after);
        const page = await adminRequest(`/webhooks/${endpoint.id}/deliveries?${params}`);
        if (signal.aborted) return;
        const snapshot = JSON.stringify(page.data);
        if (snapshot !== shown) {
          shown = snapshot;
          replace(
            results,
            table({ caption: "Deliveries", columns, rows: page.data, empty: "Nothing delivered yet." }),
          );
        }
        pager.shown(page.has_more ? page.data[page.data.length - 1].id : null);
        // A live log while the endpoint takes events; redrawn only when something changed.
        if (!endpoint.disabled_at) timer = setTimeout(load, REFRESH_MS);
      } catch (error) {
        if (!signal.aborted) replace(results, errorNotice(error));
      }
    }

    load();
    return h(
      "section",
      { class: "card", "aria-labelledby": "deliveries-title" },
      h(
        "div",
        { class: "section-header" },
        h("h2", { id: "deliveries-title" }, "Delivery log of ", code(endpoint.url)),
        pager.element,
      ),
      results,
    );
  }

  openOnProject({ search, signal, navigate, path: "admin/webhooks", body, pickerSlot, show: reload });
}
