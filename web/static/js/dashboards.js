// Analyst dashboards: KPI cards and plotly charts built server-side
// (GET /api/dashboards/data), filters, live mode, PNG and CSV downloads.
import { api } from "./api.js";
import { h, $, clear, showStatus, announce, download, toCsv, clearFieldErrors, markFieldErrors } from "./dom.js";
import { connectLive } from "./shell.js";
import { plotly } from "./plotly_loader.js";

const form = $("#dash-filters");
const statusEl = $("#dash-status");
const state = { gen: 0, charts: new Map(), drawn: new Map(), live: false, timer: null, pending: false, lastLoad: 0 };
// No `responsive: true`: it gives every chart its own window resize handler,
// each re-laying out its chart; one handler below resizes the drawn charts when
// the grid's width really changed (and the charts are drawn at a fixed size).
const PLOT_CONFIG = { displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };

// plotly.js (3.5 MB) is fetched while the data is (the page preloads it) but
// runs only after the KPI cards and tables are in the DOM, so they paint first.
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
// Between two off-screen charts: let input and rendering in, without waiting
// for a frame when none is due.
const yieldToBrowser = () =>
  globalThis.scheduler?.yield ? globalThis.scheduler.yield() : new Promise((resolve) => setTimeout(resolve, 0));

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

async function load({ quiet = false } = {}) {
  const gen = ++state.gen;
  state.lastLoad = Date.now();
  clearFieldErrors(form);
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
    if (err.status === 422) markFieldErrors(form, err.fields, "d");
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
  const charts = data.charts || [];
  // every card, its empty note and its table of numbers: plain DOM, cheap
  for (const chart of charts) prepareCard(chart);
  try {
    const Plotly = await plotly();
    if (gen !== state.gen) return;
    await drawCharts(Plotly, charts, gen);
  } catch (err) {
    showStatus(statusEl, `Charts unavailable: ${err.message}`, "error");
  }
}

// The charts on screen are drawn at once; the others follow one per frame, so
// the first view is complete early and scrolling or a new filter is never
// stuck behind six plotly draws. A newer load abandons the rest.
async function drawCharts(Plotly, charts, gen) {
  // every box measured in one layout pass, before plotly changes the DOM
  const boxes = new Map(charts.map((c) => [c.id, $(`#chart-${c.id}`).getBoundingClientRect()]));
  gridWidth = $("#charts").clientWidth;
  const onScreen = (chart) => {
    const r = boxes.get(chart.id);
    return r.bottom > 0 && r.top < window.innerHeight;
  };
  const first = charts.filter(onScreen);
  const later = charts.filter((c) => !first.includes(c));
  for (const chart of first) drawChart(Plotly, chart, boxes.get(chart.id));
  document.body.dataset.dashboardsVisible = String(gen);
  if (later.length) {
    showStatus(statusEl, "");
    await nextFrame(); // the first view is painted before anything else is drawn
  }
  for (const [i, chart] of later.entries()) {
    if (i) await yieldToBrowser();
    if (gen !== state.gen) return;
    drawChart(Plotly, chart, boxes.get(chart.id));
  }
  $("#charts").setAttribute("aria-busy", "false");
  showStatus(statusEl, "");
  document.body.dataset.dashboardsLoaded = String(gen);
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

function prepareCard(chart) {
  let card = $(`[data-chart="${chart.id}"]`);
  if (!card) {
    card = chartCard(chart);
    $("#charts").append(card);
  }
  state.charts.set(chart.id, chart);
  $(".chart-empty", card).hidden = !chart.empty;
  renderTable($(".table-wrap", card), chart);
}

// What a chart was last drawn as: its figure at its size.
const drawnKey = (chart, width, height) => JSON.stringify([chart.figure, width, height]);

// Drawn at the size measured for its box (autosize off): with autosize plotly
// reads the container's computed style for every chart, forcing a layout of
// the whole page each time; that was about a third of the drawing time.
function drawChart(Plotly, chart, box) {
  // the card's heading names the chart on screen; the title stays for the PNG
  const layout = { ...chart.figure.layout, title: { text: "" },
    margin: { ...(chart.figure.layout.margin || {}), t: 16 },
    autosize: false, width: Math.floor(box.width), height: Math.floor(box.height) };
  // a live refresh often changes a few charts only: the others stay as drawn
  const drawnAs = drawnKey(chart, layout.width, layout.height);
  if (state.drawn.get(chart.id) === drawnAs) return;
  const started = performance.now();
  Plotly.react(`chart-${chart.id}`, chart.figure.data, layout, PLOT_CONFIG);
  state.drawn.set(chart.id, drawnAs);
  // visible in the browser's performance timeline (and read by bench/pages.py)
  performance.measure(`hub:chart:${chart.id}`, { start: started, end: performance.now() });
}

// Resize the drawn charts once per frame at most, and only when the width of
// the grid changed (a phone turned, a window resized), not on every event.
let resizeQueued = false;
let gridWidth = 0;
window.addEventListener("resize", () => {
  if (resizeQueued || !window.Plotly) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    const width = $("#charts").clientWidth;
    if (width === gridWidth) return;
    gridWidth = width;
    const sizes = [...state.drawn.keys()].map((id) => [id, $(`#chart-${id}`).getBoundingClientRect()]);
    for (const [id, r] of sizes) {
      const size = { width: Math.floor(r.width), height: Math.floor(r.height) };
      window.Plotly.relayout(`chart-${id}`, size);
      state.drawn.set(id, drawnKey(state.charts.get(id), size.width, size.height));
    }
  });
});

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
// covers a page whose live connection is down.
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
