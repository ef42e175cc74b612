// The admin pages: their routes under admin/, their own main navigation, and which key may open
// what: the admin key opens only these pages, a project's key only the others.
import { h } from "./dom.js";
import * as auditPage from "./pages/admin_audit.js";
import * as exitKitPage from "./pages/admin_exit_kit.js";
import * as keyPage from "./pages/admin_key.js";
import * as projectPage from "./pages/admin_project.js";
import * as projectsPage from "./pages/admin_projects.js";
import * as usagePage from "./pages/admin_usage.js";
import * as webhooksPage from "./pages/admin_webhooks.js";
import { apiKey, isAdmin } from "./session.js";

const HOME = "admin/projects";

export const ADMIN_ROUTES = [
  [/^admin(\/projects)?$/, projectsPage],
  [/^admin\/projects\/(?<projectId>[^/]+)$/, projectPage],
  [/^admin\/keys\/(?<keyId>[^/]+)$/, keyPage],
  [/^admin\/usage$/, usagePage],
  [/^admin\/audit$/, auditPage],
  [/^admin\/webhooks$/, webhooksPage],
  [/^admin\/exit-kit$/, exitKitPage],
];

const SECTIONS = [
  ["admin/projects", "Projects"],
  ["admin/usage", "Usage"],
  ["admin/audit", "Audit log"],
  ["admin/webhooks", "Webhooks"],
  ["admin/exit-kit", "Exit kit"],
];

const isAdminPath = (path) => path === "admin" || path.startsWith("admin/");

/** Where a signed-in key goes instead of `path` when the page is not for it; null when it is. */
export function wrongArea(path) {
  if (!apiKey() || path === "sign-in" || isAdminPath(path) === isAdmin()) return null;
  return isAdmin() ? HOME : "jobs";
}

let adminNav = null;

/** Shows the navigation of the signed-in key's pages; answers the section `path` is in. */
export function showNav(topbar, path) {
  const memberNav = topbar.querySelector("nav");
  if (!adminNav) {
    adminNav = h(
      "nav",
      { "aria-label": "Main", class: "admin-nav" },
      h(
        "ul",
        {},
        SECTIONS.map(([section, label]) =>
          h("li", {}, h("a", { href: section, dataset: { section } }, label)),
        ),
      ),
    );
    memberNav.after(adminNav);
  }
  memberNav.hidden = isAdmin();
  adminNav.hidden = !isAdmin();
  if (!isAdminPath(path)) return path.split("/")[0] || "jobs";
  const section = path.split("/")[1] ?? "projects";
  return section === "keys" ? HOME : `admin/${section}`;
}
