// Analyst dashboards: KPI cards and plotly charts built server-side
// (GET /api/dashboards/data), filters, live mode, PNG and CSV downloads.
import { api } from "./api.js";
import { h, $, $$, clear, showStatus, announce, download, toCsv } from "./dom.js";
import { connectLive } from "./shell.js";
import { plotly } from "./plotly_loader.js";

const form = $("#dash-filters");
const statusEl = $("#dash-status");
const state = { gen: 0, charts: new Map(), live: false, timer: null, pending: false, lastLoad: 0 };
const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };

function query() {
  const data = new FormData(form);
  const q = {};
  for (const key of ["category", "channel", "interval"]) {
    const v = String(data.get(key) || "").trim();
    if (v) q[key] = v;
  }
  const from = data.get("from");
  const to = data.get("to");
  if (from) q.from = from;
  if (to) {
    // the "to" date is inclusive in the form: the window ends at the next midnight
    const end = new Date(`${to}T00:00:00Z`);
    end.setUTCDate(end.getUTCDate() + 1);
    q.to = end.toISOString();
  }
  return q;
}

function clearErrors() {
  for (const el of $$(".field-error", form)) el.textContent = "";
  for (const el of $$('[aria-invalid="true"]', form)) el.removeAttribute("aria-invalid");
}

async function load({ quiet = false } = {}) {
  const gen = ++state.gen;
  state.lastLoad = Date.now();
  clearErrors();
  if (!quiet) showStatus(statusEl, "Loading…");
  $("#charts").setAttribute("aria-busy", "true");
  let data;
  const fetchStart = performance.now();
  try {
    data = await api("/api/dashboards/data", { query: query() });
    performance.measure("hub:dashboards:fetch", { start: fetchStart, end: performance.now() });
  } catch (err) {
    if (gen !== state.gen) return;
    $("#charts").setAttribute("aria-busy", "false");
    if (err.status === 422) {
      for (const [name, message] of Object.entries(err.fields || {})) {
        const target = $(`#d-${name}-error`);
        if (target) target.textContent = message;
        form.querySelector(`[name="${name}"]`)?.setAttribute("aria-invalid", "true");
      }
    }
    showStatus(statusEl, `Could not load the dashboards: ${err.message}`, "error");
    return;
  }
  if (gen !== state.gen) return;
  const w = data.window || {};
  $("#dash-window").textContent = w.from ? `${new Date(w.from).toLocaleString()} – ${new Date(w.to).toLocaleString()} · per ${data.interval}` : "";
  renderKpis(data.kpis || []);
  const list = $("#d-categories");
  clear(list);
  for (const c of data.categories || []) list.append(h("option", { value: c }));
  try {
    const Plotly = await plotly();
    for (const chart of data.charts || []) renderChart(Plotly, chart);
    $("#charts").setAttribute("aria-busy", "false");
    showStatus(statusEl, quiet ? "" : "");
    document.body.dataset.dashboardsLoaded = String(gen);
  } catch (err) {
    showStatus(statusEl, `Charts unavailable: ${err.message}`, "error");
  }
}

function renderKpis(kpis) {
  const box = $("#kpis");
  clear(box);
  for (const k of kpis) {
    box.append(h("div", { class: "kpi", dataset: { kpi: k.id } },
      h("p", { class: "kpi-label" }, k.label),
      h("p", { class: "kpi-value" }, k.text),
      k.detail ? h("p", { class: "muted kpi-detail" }, k.detail) : null));
  }
}

function chartCard(chart) {
  const titleId = `chart-${chart.id}-title`;
  // a figure, not role=img: plotly's toolbar buttons live inside the chart
  const plot = h("figure", { class: "chart", id: `chart-${chart.id}`, "aria-labelledby": titleId });
  const tableBox = h("div", { class: "table-wrap" });
  const card = h("section", { class: "chart-card", dataset: { chart: chart.id }, "aria-labelledby": titleId },
    h("h2", { id: titleId }, chart.title),
    h("p", { class: "muted chart-empty", hidden: true }, "No data in this window."),
    plot,
    h("div", { class: "chart-actions" },
      h("button", { type: "button", class: "btn", dataset: { action: "png" },
        "aria-label": `Download ${chart.title} as PNG`, onclick: () => downloadPng(chart.id) }, "PNG"),
      h("button", { type: "button", class: "btn", dataset: { action: "csv" },
        "aria-label": `Download ${chart.title} as CSV`, onclick: () => downloadCsv(chart.id) }, "CSV")),
    h("details", {}, h("summary", {}, "Show the numbers"), tableBox));
  return card;
}

function renderTable(box, chart) {
  clear(box);
  const table = h("table", {},
    h("caption", { class: "visually-hidden" }, chart.title),
    h("thead", {}, h("tr", {}, chart.columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, chart.rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, v === null ? "" : String(v)))))));
  box.append(table);
}

function renderChart(Plotly, chart) {
  let card = $(`[data-chart="${chart.id}"]`);
  if (!card) {
    card = chartCard(chart);
    $("#charts").append(card);
  }
  state.charts.set(chart.id, chart);
  $(".chart-empty", card).hidden = !chart.empty;
  renderTable($(".table-wrap", card), chart);
  // the card's heading names the chart on screen; the title stays for the PNG
  const layout = { ...chart.figure.layout, title: { text: "" },
    margin: { ...(chart.figure.layout.margin || {}), t: 16 } };
  const started = performance.now();
  Plotly.react(`chart-${chart.id}`, chart.figure.data, layout, PLOT_CONFIG);
  // visible in the browser's performance timeline (and read by bench/pages.py)
  performance.measure(`hub:chart:${chart.id}`, { start: started, end: performance.now() });
}

async function downloadPng(id) {
  const Plotly = await plotly();
  const chart = state.charts.get(id);
  const url = await Plotly.toImage(
    { data: chart.figure.data, layout: chart.figure.layout },
    { format: "png", width: 1000, height: 560 });
  const a = h("a", { href: url, download: `${id}.png` });
  document.body.append(a);
  a.click();
  a.remove();
}

function downloadCsv(id) {
  const chart = state.charts.get(id);
  if (chart) download(`${id}.csv`, toCsv(chart.columns, chart.rows), "text/csv");
}

// ---------------------------------------------------------------- live mode
// admin:live messages trigger a refresh (at most one every 2 s); a slow poll
// covers analysts whose connection cannot join admin:live.
function liveRefresh() {
  if (!state.live) return;
  const wait = Math.max(0, 2000 - (Date.now() - state.lastLoad));
  if (state.pending) return;
  state.pending = true;
  setTimeout(() => { state.pending = false; if (state.live) load({ quiet: true }); }, wait);
}

document.addEventListener("hub:message", (ev) => {
  const msg = ev.detail || {};
  const type = String(msg.type || "");
  if (msg.channel === "admin:live" || type.startsWith("admin") || type.startsWith("analytics.")) liveRefresh();
});

// an API-key session joins admin:live when its socket opens; ask again after reconnects
document.addEventListener("hub:status", (ev) => {
  const st = (ev.detail || {}).state;
  if (state.live && st === "open" && window.hubLive) window.hubLive.subscribe("admin:live");
  $("#live-state").textContent = state.live ? liveText(st) : "";
});

function liveText(st) {
  if (st === "open") return "Live: updating as events arrive";
  if (st === "closed") return "Live: refreshing every 15 s";
  return "Live: connecting…";
}

$("#live-toggle").addEventListener("click", async () => {
  state.live = !state.live;
  const button = $("#live-toggle");
  button.setAttribute("aria-pressed", String(state.live));
  $("#live-state").textContent = state.live ? liveText(window.hubLive && window.hubLive.state) : "";
  clearInterval(state.timer);
  if (state.live) {
    const client = await connectLive();
    if (client && typeof client.subscribe === "function") client.subscribe("admin:live");
    state.timer = setInterval(liveRefresh, 15000);
    announce("Live mode on");
    load({ quiet: true });
  } else {
    announce("Live mode off");
  }
});

form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
form.addEventListener("change", (ev) => { if (ev.target.tagName === "SELECT") load(); });

load();
