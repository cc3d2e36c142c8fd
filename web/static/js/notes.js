// Notifications as the center page and the bell panel show them.
import { api, itemsOf } from "./api.js";
import { h, timeEl, clear, confirmDialog } from "./dom.js";

export const endpoints = {
  center: "/api/notifications/center",
  search: "/api/notifications/search",
  categories: "/api/notifications/categories",
  unread: "/api/notifications/unread-count",
  readAll: "/api/notifications/read-all",
  bulkRead: "/api/notifications/bulk-read",
  bulkDelete: "/api/notifications/bulk-delete",
  archive: "/api/notifications/archive",
  unarchive: "/api/notifications/unarchive",
  exportUrl: "/api/notifications/export",
};

export async function fetchUnread() {
  const data = await api(endpoints.unread);
  if (typeof data === "number") return data;
  return Number(data.unread_count ?? data.count ?? data.unread ?? 0);
}

export const markRead = (id) => api(`/api/notifications/${encodeURIComponent(id)}/read`, { method: "POST" });
export const bulkRead = (ids) => api(endpoints.bulkRead, { method: "POST", body: { ids } });
export const archive = (ids) => api(endpoints.archive, { method: "POST", body: { ids } });
export const unarchive = (ids) => api(endpoints.unarchive, { method: "POST", body: { ids } });
export const bulkDelete = (ids) => api(endpoints.bulkDelete, { method: "POST", body: { ids } });
export const readAll = () => api(endpoints.readAll, { method: "POST" });

/** The notification a live message is about, whatever the envelope looks like. */
export function noteFromMessage(msg) {
  if (!msg || typeof msg !== "object") return null;
  const n = msg.notification || msg.data || msg.payload || msg;
  return n && n.id !== undefined && n.title !== undefined ? n : null;
}

/** A link the page may follow: http(s) or a local path, through click tracking. */
export function trackedLink(n) {
  const link = n.link || "";
  if (/^https?:\/\//i.test(link) || (link.startsWith("/") && !link.startsWith("//"))) {
    return `/r/${encodeURIComponent(n.id)}`;
  }
  return null;
}

/** One list row: optional checkbox, an open button (title, body, meta). */
export function noteItem(n, { selectable = false, onOpen } = {}) {
  const open = h("button", {
      type: "button", class: "note-open", onclick: () => onOpen && onOpen(n),
    },
    n.is_read ? null : h("span", { class: "visually-hidden" }, "Unread: "),
    h("span", { class: "note-title" }, n.title),
    h("span", { class: "note-body" }, n.body || ""),
    h("span", { class: "note-meta" },
      h("span", { class: "chip" }, n.category),
      n.priority && n.priority !== "normal" ? h("span", { class: `chip prio-${n.priority}` }, n.priority) : null,
      n.archived ? h("span", { class: "chip" }, "archived") : null,
      timeEl(n.created_at)),
  );
  const li = h("li", {
    class: "note" + (n.is_read ? " read" : " unread") + (n.archived ? " archived" : ""),
    dataset: { id: String(n.id) },
  });
  if (selectable) {
    li.append(h("input", {
      type: "checkbox", class: "note-select", value: String(n.id),
      "aria-label": `Select: ${n.title}`,
    }));
  }
  li.append(h("span", { class: "unread-dot", "aria-hidden": "true" }), open);
  return li;
}

/**
 * The detail dialog for one notification. `after(action)` is told what changed
 * ("read", "archived", "unarchived", "deleted") so the caller can update its list.
 */
export function showDetail(n, after = () => {}) {
  let dlg = document.getElementById("note-detail");
  if (!dlg) {
    dlg = h("dialog", { id: "note-detail", class: "dialog detail", "aria-labelledby": "detail-title" });
    document.body.append(dlg);
  }
  clear(dlg);
  const status = h("p", { class: "error-text", role: "alert", hidden: true });
  const act = async (label, fn, action) => {
    try {
      await fn();
      after(action);
      dlg.close();
    } catch (err) {
      status.textContent = `${label} failed: ${err.message}`;
      status.hidden = false;
    }
  };
  const href = trackedLink(n);
  let data = "";
  if (n.data && typeof n.data === "object" && Object.keys(n.data).length) {
    data = JSON.stringify(n.data, null, 2);
  }
  dlg.append(
    h("div", { class: "dialog-head" },
      h("h2", { id: "detail-title" }, n.title),
      h("button", { type: "button", class: "icon-btn", "aria-label": "Close", onclick: () => dlg.close() }, "✕")),
    h("p", { class: "note-meta" },
      h("span", { class: "chip" }, n.category),
      h("span", { class: `chip prio-${n.priority || "normal"}` }, n.priority || "normal"),
      timeEl(n.created_at),
      n.is_read ? h("span", {}, "read") : h("span", { class: "chip unread-chip" }, "unread")),
    h("p", { class: "detail-body" }, n.body || ""),
    data ? h("details", {}, h("summary", {}, "Data"), h("pre", { class: "detail-data" }, data)) : null,
    status,
    h("div", { class: "dialog-actions" },
      href ? h("a", { class: "btn primary", href }, "Open link") : null,
      n.is_read ? null : h("button", { type: "button", class: "btn",
        onclick: () => act("Mark read", () => markRead(n.id), "read") }, "Mark read"),
      n.archived
        ? h("button", { type: "button", class: "btn",
            onclick: () => act("Unarchive", () => unarchive([n.id]), "unarchived") }, "Unarchive")
        : h("button", { type: "button", class: "btn",
            onclick: () => act("Archive", () => archive([n.id]), "archived") }, "Archive"),
      h("button", { type: "button", class: "btn danger", onclick: async () => {
        if (await confirmDialog("Delete this notification? This cannot be undone.", "Delete")) {
          act("Delete", () => bulkDelete([n.id]), "deleted");
        }
      } }, "Delete")),
  );
  dlg.showModal();
  // opening a notification reads it
  if (!n.is_read) {
    markRead(n.id).then(() => after("read")).catch(() => {});
  }
  return dlg;
}

export async function latest(limit = 10) {
  return itemsOf(await api(endpoints.center, { query: { limit, archived: "false", sort: "newest" } }));
}
