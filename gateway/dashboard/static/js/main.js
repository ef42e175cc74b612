// The dashboard's router: paths under /dashboard/ map to pages, rendered into <main>.
import { ADMIN_ROUTES, showNav, wrongArea } from "./admin_area.js";
import { SIGNED_OUT_EVENT } from "./api.js";
import { h } from "./dom.js";
import * as evalPage from "./pages/eval.js";
import * as evalLaunchPage from "./pages/eval_launch.js";
import * as evalsPage from "./pages/evals.js";
import * as filesPage from "./pages/files.js";
import * as jobPage from "./pages/job.js";
import * as jobFormPage from "./pages/job_form.js";
import * as jobsPage from "./pages/jobs.js";
import * as modelsPage from "./pages/models.js";
import * as playgroundPage from "./pages/playground.js";
import * as signInPage from "./pages/sign_in.js";
import { apiKey, signOut } from "./session.js";

const ROOT = "/dashboard/";
const ROUTES = [
  [/^sign-in$/, signInPage],
  [/^(jobs)?$/, jobsPage],
  [/^jobs\/new$/, jobFormPage],
  [/^jobs\/(?<jobId>[^/]+)$/, jobPage],
  [/^files(\/(?<fileId>[^/]+))?$/, filesPage],
  [/^playground$/, playgroundPage],
  [/^evals$/, evalsPage],
  [/^evals\/(?<evalId>[^/]+)$/, evalPage],
  [/^evals\/(?<evalId>[^/]+)\/runs\/new$/, evalLaunchPage],
  [/^models$/, modelsPage],
  ...ADMIN_ROUTES,
];

const main = document.getElementById("main");
const topbar = document.querySelector(".topbar");
let current = null;
let navigated = false;

export function navigate(path, { replace = false, notice } = {}) {
  const url = new URL(path, document.baseURI);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render({ notice });
}

function routeOf(path) {
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { page, params: match.groups ?? {} };
  }
  return null;
}

function render({ notice } = {}) {
  current?.abort();
  current = new AbortController();
  const path = location.pathname.slice(ROOT.length).replace(/\/$/, "");
  const query = new URLSearchParams(location.search);
  if (!apiKey() && path !== "sign-in") {
    const next = path ? `?next=${encodeURIComponent(path + location.search)}` : "";
    history.replaceState(null, "", new URL(`sign-in${next}`, document.baseURI));
    return render({ notice });
  }
  const home = wrongArea(path);
  if (home) {
    history.replaceState(null, "", new URL(home, document.baseURI));
    return render({ notice });
  }
  topbar.hidden = !apiKey();
  const section = showNav(topbar, path);
  for (const navLink of topbar.querySelectorAll("nav a")) {
    if (navLink.dataset.section === section) navLink.setAttribute("aria-current", "page");
    else navLink.removeAttribute("aria-current");
  }

  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  const route = routeOf(path);
  const context = {
    params: route?.params ?? {},
    query,
    signal: current.signal,
    notice,
    navigate,
    setTitle: (title) => (document.title = `${title} · ftgate`),
  };
  if (!route) {
    context.setTitle("Not found");
    view.append(
      h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, h("a", { href: "jobs" }, "Back to jobs")),
    );
  } else {
    route.page.render(view, context);
  }
  // After a navigation, focus goes to the new page's heading, as a page load would put it at the top.
  if (navigated) view.querySelector("h1")?.focus({ preventScroll: true });
  navigated = true;
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[href]");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const fragment = anchor.getAttribute("href");
  if (fragment.startsWith("#")) {
    // <base href> would resolve "#main" to /dashboard/#main, a navigation: focus the target instead.
    event.preventDefault();
    document.querySelector(fragment)?.focus();
    return;
  }
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  ) {
    return;
  }
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(ROOT)) return;
  event.preventDefault();
  if (url.href !== location.href) navigate(url.href);
});

window.addEventListener("popstate", () => render());
window.addEventListener(SIGNED_OUT_EVENT, (event) => {
  history.replaceState(null, "", new URL("sign-in", document.baseURI));
  render({ notice: event.detail || "Your key was refused. Sign in again." });
});
document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  navigate("sign-in");
});

render();
