// The shared header on every page: sign-out, bell with live unread badge,
// connection status, the slide-in notification panel, live announcements.
import { h, $, clear, announce, toast } from "./dom.js";
import { fetchUnread, latest, noteItem, showDetail, noteFromMessage, readAll } from "./notes.js";

const body = document.body;
const isUser = Boolean(body.dataset.user);

// ---------------------------------------------------------------- unread badge
const badge = $("#bell-badge");
const bell = $("#bell");
let unread = 0;

export function setUnread(count) {
  unread = Math.max(0, Number(count) || 0);
  if (!badge || !bell) return;
  badge.textContent = unread > 99 ? "99+" : String(unread);
  badge.hidden = unread === 0;
  bell.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  document.dispatchEvent(new CustomEvent("hub:unread", { detail: { count: unread } }));
}

export async function refreshUnread() {
  if (!isUser) return;
  try { setUnread(await fetchUnread()); } catch { /* badge stays as it was */ }
}

// ---------------------------------------------------------------- panel
const panel = $("#panel");
const backdrop = $("#panel-backdrop");
let lastFocus = null;

async function fillPanel() {
  const list = $(".panel-list", panel);
  const error = $(".panel-error", panel);
  error.hidden = true;
  try {
    const items = await latest(15);
    clear(list);
    if (!items.length) list.append(h("li", { class: "empty" }, "No notifications yet."));
    for (const n of items) list.append(noteItem(n, { onOpen: (x) => showDetail(x, onChanged) }));
  } catch (err) {
    error.textContent = `Could not load notifications: ${err.message}`;
    error.hidden = false;
  }
}

function onChanged() {
  refreshUnread();
  if (panel && !panel.hidden) fillPanel();
  document.dispatchEvent(new CustomEvent("hub:changed"));
}

export function openPanel() {
  if (!panel) return;
  lastFocus = document.activeElement;
  panel.hidden = false;
  backdrop.hidden = false;
  bell.setAttribute("aria-expanded", "true");
  requestAnimationFrame(() => panel.classList.add("open"));
  $("#panel-close").focus();
  fillPanel();
}

export function closePanel() {
  if (!panel || panel.hidden) return;
  panel.classList.remove("open");
  panel.hidden = true;
  backdrop.hidden = true;
  bell.setAttribute("aria-expanded", "false");
  if (lastFocus && lastFocus.focus) lastFocus.focus();
}

if (panel) {
  bell.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
  $("#panel-close").addEventListener("click", closePanel);
  backdrop.addEventListener("click", closePanel);
  $("#panel-read-all").addEventListener("click", async () => {
    try { await readAll(); onChanged(); announce("All notifications marked read"); }
    catch (err) { const e = $(".panel-error", panel); e.textContent = err.message; e.hidden = false; }
  });
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !document.querySelector("dialog[open]")) {
      ev.preventDefault();
      closePanel();
    } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      moveFocus(panel, ev);
    } else if (ev.key === "Tab") {
      trapFocus(panel, ev);
    }
  });
}

/** Arrow keys move between the open buttons of a notification list. */
export function moveFocus(root, ev) {
  const buttons = Array.from(root.querySelectorAll(".note-open"));
  if (!buttons.length) return;
  const i = buttons.indexOf(document.activeElement.closest(".note")?.querySelector(".note-open"));
  const next = ev.key === "ArrowDown" ? Math.min(i + 1, buttons.length - 1) : Math.max(i - 1, 0);
  ev.preventDefault();
  buttons[i < 0 ? 0 : next].focus();
}

function trapFocus(root, ev) {
  const focusable = Array.from(root.querySelectorAll("button, a[href], input, select"))
    .filter((el) => !el.disabled && el.offsetParent !== null);
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
  else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
}

// ---------------------------------------------------------------- live connection
const statusEl = $("#conn-status");
const STATUS_TEXT = {
  open: "Live", connected: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…",
  sse: "Live (SSE)", polling: "Polling", closed: "Offline", offline: "Offline", error: "Offline",
};

function setStatus(state) {
  if (!statusEl) return;
  const key = String(state || "offline").toLowerCase();
  statusEl.dataset.state = key;
  $(".conn-text", statusEl).textContent = STATUS_TEXT[key] || key;
}

document.addEventListener("hub:status", (ev) => {
  const d = ev.detail || {};
  setStatus(typeof d === "string" ? d : d.state || d.status || (d.connected ? "open" : "offline"));
});

document.addEventListener("hub:message", (ev) => {
  const msg = ev.detail || {};
  if (msg.type === "unread_count") {
    setUnread(msg.count ?? msg.unread_count ?? msg.unread ?? (msg.data && msg.data.count));
  } else if (msg.type === "notification.created") {
    const n = noteFromMessage(msg);
    if (n) {
      announce(`New notification: ${n.title}`);
      toast(n.title);
      if (!n.is_read) setUnread(unread + 1);
      if (panel && !panel.hidden) fillPanel();
    }
  } else if (msg.type === "notification.updated" || msg.type === "notification.deleted") {
    refreshUnread();
  }
});
document.addEventListener("hub:resync", refreshUnread);

let livePromise = null;

/** Start (once) the real-time client; resolves to it, or null when it is unavailable. */
export function connectLive() {
  if (livePromise) return livePromise;
  livePromise = (async () => {
    try {
      const mod = await import("./websocket_client.js");
      const start = mod.connect || mod.start || mod.default;
      if (typeof start !== "function") return null;
      const client = await start({ url: "/ws/notifications" });
      window.hubLive = client;
      return client;
    } catch (err) {
      setStatus("offline");
      return null;
    }
  })();
  return livePromise;
}

// ---------------------------------------------------------------- global keys
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && panel && !panel.hidden && !document.querySelector("dialog[open]")) {
    closePanel();
  }
});

if (isUser) {
  refreshUnread();
  connectLive();
}
