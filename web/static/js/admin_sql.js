// The admin SQL console: run read-only SQL, show rows as text, a quick chart,
// example queries, CSV download; refused writes show the API's message.
import { api, itemsOf } from "./api.js";
import { h, $, clear, download, toCsv, announce } from "./dom.js";
import { plotly } from "./plotly_loader.js";

const form = $("#sql-form");
const textarea = $("#sql");
const errorEl = $("#sql-error");
const meta = $("#sql-meta");
let result = null;

function renderTable(data) {
  const box = $("#results");
  clear(box);
  if (!data.columns.length) {
    box.append(h("p", { class: "muted" }, "The query returned no columns."));
    return;
  }
  box.append(h("table", { id: "results-table" },
    h("caption", { class: "visually-hidden" }, "Query results"),
    h("thead", {}, h("tr", {}, data.columns.map((c) => h("th", { scope: "col", title: c.type }, c.name)))),
    h("tbody", {}, data.rows.map((row) => h("tr", {}, row.map((v) => h("td", {},
      v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v))))))));
}

const NUMERIC = /^(U?Int|Float|Decimal|Nullable\((U?Int|Float|Decimal))/;

function fillChartControls(data) {
  const x = $("#qc-x");
  const y = $("#qc-y");
  clear(x);
  clear(y);
  data.columns.forEach((c, i) => {
    x.append(h("option", { value: String(i) }, c.name));
    if (NUMERIC.test(c.type)) y.append(h("option", { value: String(i) }, c.name));
  });
  const firstNumeric = data.columns.findIndex((c) => NUMERIC.test(c.type));
  const firstOther = data.columns.findIndex((c, i) => i !== firstNumeric);
  if (firstOther >= 0) x.value = String(firstOther);
  if (firstNumeric >= 0) y.value = String(firstNumeric);
}

let drawGen = 0;

async function drawChart() {
  const gen = ++drawGen;
  const box = $("#qchart");
  const old = $("#qchart-plot");
  if (old && window.Plotly) window.Plotly.purge(old);
  clear(box);
  if (!result || !result.rows.length || $("#qc-y").value === "") {
    box.append(h("p", { class: "muted" }, result ? "No numeric column to chart." : "Run a query to chart it."));
    return;
  }
  let Plotly;
  try { Plotly = await plotly(); } catch (err) {
    box.append(h("p", { class: "error-text" }, err.message));
    return;
  }
  if (gen !== drawGen) return; // a newer draw started while plotly loaded
  const plot = h("div", { id: "qchart-plot", class: "chart-plot" });
  box.append(plot);
  const xi = Number($("#qc-x").value);
  const yi = Number($("#qc-y").value);
  const type = $("#qc-type").value;
  const trace = {
    type: type === "line" ? "scatter" : "bar",
    mode: type === "line" ? "lines+markers" : undefined,
    x: result.rows.map((r) => (r[xi] === null ? "NULL" : String(r[xi]))),
    y: result.rows.map((r) => r[yi]),
    marker: { color: "#0072B2" },
  };
  Plotly.newPlot(plot, [trace], {
    margin: { l: 56, r: 16, t: 16, b: 64 }, autosize: true,
    xaxis: { title: { text: result.columns[xi].name }, type: "category" },
    yaxis: { title: { text: result.columns[yi].name } },
  }, { responsive: true, displaylogo: false });
}

async function run() {
  const query = textarea.value.trim();
  errorEl.textContent = "";
  textarea.removeAttribute("aria-invalid");
  if (!query) {
    errorEl.textContent = "Write a query first.";
    textarea.setAttribute("aria-invalid", "true");
    return;
  }
  meta.textContent = "Running…";
  $("#run").disabled = true;
  try {
    const data = await api("/api/admin/sql", { method: "POST", body: { query } });
    result = data;
    renderTable(data);
    fillChartControls(data);
    drawChart();
    $("#sql-csv").disabled = false;
    const rows = data.row_count ?? data.rows.length;
    meta.textContent = `${rows} ${rows === 1 ? "row" : "rows"}${data.truncated ? " (truncated)" : ""} in ${data.elapsed_ms} ms`;
    announce(meta.textContent);
  } catch (err) {
    const refused = err.code === "sql_forbidden";
    errorEl.textContent = refused ? `Refused: ${err.message}` : err.message;
    errorEl.dataset.code = err.code || "";
    textarea.setAttribute("aria-invalid", "true");
    meta.textContent = refused ? "Not run." : "Failed.";
    // no stale rows under a failed query
    result = null;
    $("#sql-csv").disabled = true;
    clear($("#results"));
    $("#results").append(h("p", { class: "muted" }, "No results."));
    drawChart();
  } finally {
    $("#run").disabled = false;
  }
}

async function loadExamples() {
  const list = $("#examples");
  try {
    const data = await api("/api/admin/sql/examples");
    const examples = itemsOf(data).length ? itemsOf(data) : (data.examples || []);
    if (!examples.length) list.append(h("li", { class: "muted" }, "No examples."));
    for (const ex of examples) {
      list.append(h("li", {}, h("button", { type: "button", class: "btn", dataset: { name: ex.name },
        onclick: () => { textarea.value = ex.sql; textarea.focus(); } }, ex.title || ex.name)));
    }
  } catch (err) {
    list.append(h("li", { class: "error-text" }, `Examples unavailable: ${err.message}`));
  }
}

form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
textarea.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
});
$("#sql-csv").addEventListener("click", () => {
  if (result) download("query.csv", toCsv(result.columns.map((c) => c.name), result.rows), "text/csv");
});
for (const id of ["#qc-x", "#qc-y", "#qc-type"]) $(id).addEventListener("change", drawChart);

loadExamples();
