// The notification center page: filters, search with suggestions, sort,
// infinite scroll, bulk actions, detail view, export, live arrivals.
import { api, itemsOf } from "./api.js";
import { h, $, $$, clear, debounce, announce, showStatus, confirmDialog } from "./dom.js";
import {
  endpoints, noteItem, showDetail, noteFromMessage, bulkRead, archive, bulkDelete, readAll,
} from "./notes.js";
import { refreshUnread, moveFocus } from "./shell.js";

const PAGE = 25;
const list = $("#note-list");
const statusEl = $("#list-status");
const form = $("#filters");
const search = $("#search");
const sort = $("#sort");
const selectAll = $("#select-all");

const state = { cursor: null, skip: 0, done: false, loading: false, generation: 0, items: new Map() };

function filters() {
  const data = new FormData(form);
  const f = {
    category: data.get("category") || "",
    is_read: data.get("is_read") || "",
    archived: data.get("archived") ? "true" : "false",
    date_from: data.get("date_from") || "",
    date_to: data.get("date_to") || "",
  };
  return f;
}

function query() {
  return { ...filters(), sort: sort.value };
}

function updateExportLinks() {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query())) if (v) params.set(k, v);
  for (const fmt of ["csv", "json"]) {
    params.set("format", fmt);
    $(`#export-${fmt}`).href = `${endpoints.exportUrl}?${params}`;
  }
}

async function load(reset = false) {
  if (reset) {
    state.generation += 1;
    state.cursor = null;
    state.skip = 0;
    state.done = false;
    state.loading = false;
    state.items.clear();
    clear(list);
    updateSelection();
  }
  if (state.loading || state.done) return;
  state.loading = true;
  list.dataset.state = "loading";
  const gen = state.generation;
  const q = search.value.trim();
  showStatus(statusEl, "Loading…");
  try {
    let data;
    if (q) {
      data = await api(endpoints.search, { query: { ...query(), query: q, limit: PAGE, skip: state.skip } });
    } else {
      data = await api(endpoints.center, { query: { ...query(), limit: PAGE, cursor: state.cursor } });
    }
    if (gen !== state.generation) return; // a newer query replaced this one
    const items = itemsOf(data);
    for (const n of items) addItem(n, false);
    state.skip += items.length;
    state.cursor = data.next_cursor ?? null;
    state.done = q ? items.length < PAGE : !state.cursor;
    const total = data.total ?? state.items.size;
    $("#total").textContent = `${total} ${total === 1 ? "notification" : "notifications"}`;
    if (!state.items.size) showStatus(statusEl, q ? "Nothing matches your search." : "No notifications here.");
    else showStatus(statusEl, "");
    $("#load-more").hidden = state.done;
  } catch (err) {
    if (gen === state.generation) showStatus(statusEl, `Could not load notifications: ${err.message}`, "error");
    state.done = true;
  } finally {
    if (gen === state.generation) {
      state.loading = false;
      list.dataset.state = "ready";
    }
  }
  // keep filling until the sentinel leaves the viewport
  if (!state.done && gen === state.generation && sentinelVisible()) load();
}

function sentinelVisible() {
  const r = $("#sentinel").getBoundingClientRect();
  return r.top < window.innerHeight + 200;
}

function addItem(n, atTop) {
  if (state.items.has(String(n.id))) return;
  state.items.set(String(n.id), n);
  const li = noteItem(n, { selectable: true, onOpen: openDetail });
  if (atTop) list.prepend(li); else list.append(li);
}

function openDetail(n) {
  showDetail(n, (action) => {
    const li = list.querySelector(`li[data-id="${CSS.escape(String(n.id))}"]`);
    if (action === "read") {
      n.is_read = true;
      li?.classList.replace("unread", "read");
      li?.querySelector(".note-open .visually-hidden")?.remove();
    } else if (action === "deleted" || action === "archived" || action === "unarchived") {
      li?.remove();
      state.items.delete(String(n.id));
      announce(`Notification ${action}`);
    }
    refreshUnread();
    loadCategories();
  });
}

// ---------------------------------------------------------------- categories
async function loadCategories() {
  const box = $("#category-list");
  try {
    const data = await api(endpoints.categories);
    const cats = itemsOf(data).length ? itemsOf(data) : (data.categories || []);
    const current = new FormData(form).get("category") || "";
    clear(box);
    const radio = (value, label, extra) => h("label", { class: "radio" },
      h("input", { type: "radio", name: "category", value, checked: value === current }),
      " ", label, extra ? h("span", { class: "count" }, extra) : null);
    box.append(radio("", "All"));
    for (const c of cats) {
      const name = c.category ?? c.name;
      const unreadN = c.unread ?? c.unread_count ?? 0;
      box.append(radio(name, name, unreadN ? `${unreadN} unread` : null));
    }
  } catch (err) {
    box.append(h("p", { class: "error-text" }, `Categories unavailable: ${err.message}`));
  }
}

// ---------------------------------------------------------------- selection
function selectedIds() {
  return $$(".note-select:checked", list).map((el) => el.value);
}

function updateSelection() {
  const ids = selectedIds();
  $("#selected-count").textContent = `${ids.length} selected`;
  for (const id of ["#bulk-read", "#bulk-archive", "#bulk-delete"]) $(id).disabled = !ids.length;
  const boxes = $$(".note-select", list);
  selectAll.checked = boxes.length > 0 && ids.length === boxes.length;
  selectAll.indeterminate = ids.length > 0 && ids.length < boxes.length;
}

async function bulk(label, fn, removes) {
  const ids = selectedIds();
  if (!ids.length) return;
  const numeric = ids.map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  try {
    await fn(numeric);
    showStatus(statusEl, `${label}: ${ids.length} ${ids.length === 1 ? "notification" : "notifications"}.`, "ok");
    announce(`${label}: ${ids.length}`);
    if (removes) {
      for (const id of ids) {
        list.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
        state.items.delete(id);
      }
    } else {
      for (const id of ids) {
        const li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
        li?.classList.replace("unread", "read");
        li?.querySelector(".note-open .visually-hidden")?.remove();
        const n = state.items.get(id);
        if (n) n.is_read = true;
      }
    }
    for (const box of $$(".note-select:checked", list)) box.checked = false;
    updateSelection();
    refreshUnread();
    loadCategories();
  } catch (err) {
    showStatus(statusEl, `${label} failed: ${err.message}`, "error");
  }
}

// ---------------------------------------------------------------- wiring
list.addEventListener("change", (ev) => { if (ev.target.matches(".note-select")) updateSelection(); });
list.addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") moveFocus(list, ev);
});
selectAll.addEventListener("change", () => {
  for (const box of $$(".note-select", list)) box.checked = selectAll.checked;
  updateSelection();
});
$("#bulk-read").addEventListener("click", () => bulk("Marked read", bulkRead, false));
$("#bulk-archive").addEventListener("click", () => bulk("Archived", archive, true));
$("#bulk-delete").addEventListener("click", async () => {
  const n = selectedIds().length;
  if (await confirmDialog(`Delete ${n} ${n === 1 ? "notification" : "notifications"}? This cannot be undone.`, "Delete")) {
    bulk("Deleted", bulkDelete, true);
  }
});
$("#read-all").addEventListener("click", async () => {
  try {
    await readAll();
    showStatus(statusEl, "All notifications marked read.", "ok");
    announce("All notifications marked read");
    refreshUnread();
    loadCategories();
    load(true);
  } catch (err) {
    showStatus(statusEl, `Mark all read failed: ${err.message}`, "error");
  }
});
$("#load-more").addEventListener("click", () => load());

const reload = () => { updateExportLinks(); load(true); };
form.addEventListener("change", reload);
form.addEventListener("reset", () => setTimeout(reload, 0));
form.addEventListener("submit", (ev) => { ev.preventDefault(); reload(); });
sort.addEventListener("change", reload);
search.addEventListener("input", debounce(reload, 120));
search.addEventListener("input", debounce(suggest, 150));

const toggle = $(".filters-toggle");
toggle.addEventListener("click", () => {
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  form.classList.toggle("open", open);
});

async function suggest() {
  const q = search.value.trim();
  const box = $("#search-suggestions");
  if (q.length < 2) { clear(box); return; }
  try {
    const items = itemsOf(await api(endpoints.search, { query: { query: q, limit: 6 } }));
    clear(box);
    const seen = new Set();
    for (const n of items) {
      if (seen.has(n.title)) continue;
      seen.add(n.title);
      box.append(h("option", { value: n.title }));
    }
  } catch { /* suggestions are optional */ }
}

new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting)) load();
}, { rootMargin: "200px" }).observe($("#sentinel"));

// ---------------------------------------------------------------- live
function matchesFilters(n) {
  const f = filters();
  if (search.value.trim() || sort.value !== "newest") return false;
  if (f.category && n.category !== f.category) return false;
  if (f.is_read === "true" && !n.is_read) return false;
  if (f.archived === "true" && !n.archived) return false;
  if (f.date_to) return false;
  return true;
}

document.addEventListener("hub:message", (ev) => {
  const msg = ev.detail || {};
  if (msg.type === "notification.created") {
    const n = noteFromMessage(msg);
    if (n && matchesFilters(n)) {
      addItem(n, true);
      list.firstElementChild?.classList.add("arrived");
      showStatus(statusEl, "");
    }
    loadCategories();
  } else if (msg.type === "notification.deleted") {
    const ids = msg.ids || [msg.id ?? noteFromMessage(msg)?.id];
    for (const raw of ids) {
      const id = String(raw ?? "");
      list.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
      state.items.delete(id);
    }
  } else if (msg.type === "notification.updated") {
    // a change made elsewhere (another tab, a device, an email click)
    const n = noteFromMessage(msg);
    const ids = n ? [n.id] : msg.ids || [];
    for (const raw of ids) {
      const id = String(raw);
      const current = state.items.get(id);
      const changes = n || msg.changes || {};
      const li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
      if (!current || !li) continue;
      if (changes.is_read && !current.is_read) {
        current.is_read = true;
        li.classList.replace("unread", "read");
        li.querySelector(".note-open .visually-hidden")?.remove();
      }
      if (changes.archived !== undefined && Boolean(changes.archived) !== Boolean(current.archived)) {
        li.remove();
        state.items.delete(id);
      }
    }
  }
});
document.addEventListener("hub:resync", () => { loadCategories(); load(true); });
document.addEventListener("hub:changed", () => { loadCategories(); load(true); });

updateExportLinks();
loadCategories();
load(true);
