// The activity feed: summary cards, filters, search, pages, detail, export, live arrivals.
import { api, itemsOf } from "./api.js";
import { h, $, $$, clear, debounce, showStatus, announce, timeEl, clearFieldErrors, markFieldErrors } from "./dom.js";
import { moveFocus } from "./shell.js";

const PAGE = 20;
const BUILTIN = ["verification", "payment", "login", "settings", "api_key"];
const form = $("#act-filters");
const list = $("#act-list");
const statusEl = $("#act-status");
const search = $("#act-search");
const state = { skip: 0, total: 0, gen: 0 };

function filters() {
  const data = new FormData(form);
  const f = {};
  for (const key of ["activity_type", "resource_type", "status", "date_from", "date_to"]) {
    const v = String(data.get(key) || "").trim();
    if (v) f[key] = v;
  }
  const q = search.value.trim();
  if (q) f.q = q;
  return f;
}

function showFieldErrors(fields) {
  markFieldErrors(form, fields, "f", (name) => name.replace(/^filters\./, ""));
}

function item(a) {
  const li = h("li", { class: "note read", dataset: { id: String(a.id) } },
    h("button", { type: "button", class: "note-open", onclick: () => detail(a) },
      h("span", { class: "note-title" }, a.title),
      a.description ? h("span", { class: "note-body" }, a.description) : null,
      h("span", { class: "note-meta" },
        h("span", { class: "chip" }, a.activity_type),
        a.resource_type ? h("span", { class: "chip" }, `${a.resource_type}${a.resource_id ? " " + a.resource_id : ""}`) : null,
        h("span", { class: `chip status-${a.status}` }, a.status),
        timeEl(a.created_at))));
  return li;
}

async function load(skip = 0) {
  const gen = ++state.gen;
  clearFieldErrors(form);
  list.dataset.state = "loading";
  showStatus(statusEl, "Loading…");
  try {
    const data = await api("/api/activities", { query: { ...filters(), skip, limit: PAGE } });
    if (gen !== state.gen) return;
    state.skip = skip;
    state.total = data.total ?? 0;
    clear(list);
    const items = itemsOf(data);
    for (const a of items) list.append(item(a));
    const pages = Math.max(1, Math.ceil(state.total / PAGE));
    $("#act-page").textContent = `Page ${Math.floor(skip / PAGE) + 1} of ${pages}`;
    $("#act-total").textContent = `${state.total} ${state.total === 1 ? "activity" : "activities"}`;
    $("#act-prev").disabled = skip === 0;
    $("#act-next").disabled = skip + PAGE >= state.total;
    showStatus(statusEl, items.length ? "" : "No activity matches.");
    list.dataset.state = "ready";
  } catch (err) {
    if (gen !== state.gen) return;
    list.dataset.state = "ready";
    if (err.status === 422) showFieldErrors(err.fields);
    showStatus(statusEl, `Could not load activity: ${err.message}`, "error");
  }
}

function detail(a) {
  let dlg = $("#act-detail");
  if (!dlg) {
    dlg = h("dialog", { id: "act-detail", class: "dialog detail", "aria-labelledby": "act-detail-title" });
    document.body.append(dlg);
  }
  clear(dlg);
  const rows = [
    ["Type", a.activity_type], ["Action", a.action], ["Status", a.status],
    ["Resource", [a.resource_type, a.resource_id].filter(Boolean).join(" ")],
    ["When", a.created_at ? new Date(a.created_at).toLocaleString() : ""],
    ["IP address", a.ip_address], ["Device", a.user_agent],
  ].filter(([, v]) => v);
  const meta = a.metadata && typeof a.metadata === "object" ? Object.entries(a.metadata) : [];
  dlg.append(
    h("div", { class: "dialog-head" },
      h("h2", { id: "act-detail-title" }, a.title),
      h("button", { type: "button", class: "icon-btn", "aria-label": "Close", onclick: () => dlg.close() }, "✕")),
    a.description ? h("p", { class: "detail-body" }, a.description) : null,
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Activity details"),
      h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))))),
    meta.length ? h("h3", {}, "Metadata") : null,
    meta.length ? h("div", { class: "table-wrap" }, h("table", { class: "metadata" },
      h("caption", { class: "visually-hidden" }, "Metadata"),
      h("tbody", {}, meta.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k),
        h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))))))) : null,
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", class: "btn", onclick: () => dlg.close() }, "Close")));
  dlg.showModal();
}

async function loadSummary() {
  const box = $("#summary");
  try {
    const s = await api("/api/activities/summary/overview");
    clear(box);
    const kpi = (label, value) => h("div", { class: "kpi" },
      h("p", { class: "kpi-label" }, label), h("p", { class: "kpi-value" }, String(value)));
    const w7 = s.last_7_days || {};
    const w30 = s.last_30_days || {};
    box.append(
      kpi("Last 7 days", w7.total ?? 0),
      kpi("Last 30 days", w30.total ?? 0),
      kpi("Failed (30 days)", (w30.by_status || {}).failed ?? 0),
      kpi("Pending (30 days)", (w30.by_status || {}).pending ?? 0),
      kpi("All time", (s.all_time || {}).total ?? 0));
    const select = $("#f-type");
    const known = new Set($$("option", select).map((o) => o.value));
    for (const t of [...BUILTIN, ...Object.keys((s.all_time || {}).by_type || {})]) {
      if (!known.has(t)) { select.append(h("option", { value: t }, t)); known.add(t); }
    }
  } catch (err) {
    clear(box);
    box.append(h("p", { class: "error-text" }, `Summary unavailable: ${err.message}`));
  }
}

async function exportAs(format) {
  try {
    const response = await api("/api/activities/export", { method: "POST", body: { format, filters: filters() }, raw: true });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `activities.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    showStatus(statusEl, `Exported as ${format.toUpperCase()}.`, "ok");
  } catch (err) {
    if (err.status === 422) showFieldErrors(err.fields);
    showStatus(statusEl, `Export failed: ${err.message}`, "error");
  }
}

form.addEventListener("change", () => load(0));
form.addEventListener("input", debounce((ev) => { if (ev.target.type === "text") load(0); }, 300));
form.addEventListener("reset", () => setTimeout(() => load(0), 0));
form.addEventListener("submit", (ev) => { ev.preventDefault(); load(0); });
search.addEventListener("input", debounce(() => load(0), 120));
$("#act-prev").addEventListener("click", () => load(Math.max(0, state.skip - PAGE)));
$("#act-next").addEventListener("click", () => load(state.skip + PAGE));
$("#act-export-csv").addEventListener("click", () => exportAs("csv"));
$("#act-export-json").addEventListener("click", () => exportAs("json"));
list.addEventListener("keydown", (ev) => { if (ev.key === "ArrowDown" || ev.key === "ArrowUp") moveFocus(list, ev); });
const toggle = $(".filters-toggle");
toggle.addEventListener("click", () => {
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  form.classList.toggle("open", open);
});

document.addEventListener("hub:message", (ev) => {
  const msg = ev.detail || {};
  if (msg.type !== "activity.created") return;
  const a = msg.activity || msg.data || msg;
  if (!a || a.title === undefined) return;
  announce(`New activity: ${a.title}`);
  const f = filters();
  const matches = state.skip === 0 && !f.q && !f.date_to && !f.resource_type
    && (!f.activity_type || f.activity_type === a.activity_type) && (!f.status || f.status === a.status);
  if (matches && !list.querySelector(`li[data-id="${CSS.escape(String(a.id))}"]`)) {
    const li = item(a);
    li.classList.add("arrived");
    list.prepend(li);
    while (list.children.length > PAGE) list.lastElementChild.remove();
    state.total += 1;
    $("#act-total").textContent = `${state.total} activities`;
    showStatus(statusEl, "");
  }
  loadSummary();
});

document.addEventListener("hub:resync", () => { loadSummary(); load(0); });

loadSummary();
load(0);
