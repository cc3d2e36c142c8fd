// Preferences: per-category switches, channels, frequency and quiet hours;
// time zone, email opt-out, ready-made sets, and the user's push devices.
import { api, itemsOf } from "./api.js";
import { h, $, $$, clear, showStatus, announce, confirmDialog, timeEl, clearFieldErrors } from "./dom.js";

const PREFS = "/api/notifications/preferences";
const EMAIL = "/api/notifications/email/preferences";
const form = $("#prefs-form");
const cards = $("#pref-cards");
const methods = form.dataset.methods.split(",");
const methodLabels = form.dataset.methodLabels.split(",");
const frequencies = form.dataset.frequencies.split(",");
const FREQ_LABELS = { instant: "Right away", daily: "Daily digest", weekly: "Weekly digest", never: "Never" };
let current = [];
let templates = [];

const label = (cat) => (cat === "*" ? "Everything else" : cat);
const slug = (cat) => (cat === "*" ? "default" : cat.replace(/[^A-Za-z0-9_-]/g, "_"));

function card(p) {
  const id = slug(p.category);
  const err = (name) => h("p", { id: `${id}-${name}-error`, class: "error-text field-error", dataset: { field: name } });
  const methodBoxes = methods.map((m, i) => h("label", { class: "radio" },
    h("input", { type: "checkbox", name: "delivery_methods", value: m, checked: p.delivery_methods.includes(m) }),
    " ", methodLabels[i] || m));
  const freq = h("select", { id: `${id}-frequency`, name: "frequency", "aria-describedby": `${id}-frequency-error` },
    frequencies.map((f) => h("option", { value: f, selected: f === p.frequency }, FREQ_LABELS[f] || f)));
  const time = (name, text) => h("div", { class: "field" },
    h("label", { for: `${id}-${name}` }, text),
    h("input", { id: `${id}-${name}`, name, type: "time", value: p[name] || "",
      "aria-describedby": `${id}-${name}-error` }),
    err(name));
  return h("section", { class: "card pref-card", dataset: { category: p.category }, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, label(p.category),
      p.critical ? h("span", { class: "chip prio-critical" }, "critical") : null),
    h("label", { class: "switch" },
      h("input", { type: "checkbox", name: "enabled", role: "switch", checked: p.enabled,
        "aria-describedby": `${id}-title` }),
      " Notify me"),
    h("fieldset", { "aria-describedby": `${id}-delivery_methods-error` },
      h("legend", {}, "Deliver by"),
      h("div", { class: "checks" }, methodBoxes),
      err("delivery_methods")),
    h("div", { class: "field" }, h("label", { for: `${id}-frequency` }, "How often"), freq, err("frequency")),
    h("fieldset", {},
      h("legend", {}, p.critical ? "Quiet hours (critical ones still arrive)" : "Quiet hours"),
      h("div", { class: "row" }, time("quiet_hours_start", "From"), time("quiet_hours_end", "Until"))),
    err("enabled"));
}

function render(prefs) {
  clear(cards);
  // the named categories first, the catch-all last
  current = [...prefs.filter((p) => p.category !== "*"), ...prefs.filter((p) => p.category === "*")];
  prefs = current;
  for (const p of prefs) cards.append(card(p));
  $("#prefs-loading").hidden = true;
}

function readCard(section) {
  const q = (sel) => section.querySelector(sel);
  const start = q('[name="quiet_hours_start"]').value;
  const end = q('[name="quiet_hours_end"]').value;
  return {
    category: section.dataset.category,
    enabled: q('[name="enabled"]').checked,
    delivery_methods: $$('[name="delivery_methods"]:checked', section).map((el) => el.value),
    frequency: q('[name="frequency"]').value,
    quiet_hours_start: start || null,
    quiet_hours_end: end || null,
  };
}

/** Put each field error from the API next to the control it names. */
function showFieldErrors(fields, sections) {
  let placed = 0;
  for (const [name, message] of Object.entries(fields || {})) {
    const m = /^(?:body\.)?preferences\.(\d+)\.(\w+)/.exec(name);
    let target = null;
    let control = null;
    if (m && sections[Number(m[1])]) {
      const section = sections[Number(m[1])];
      target = section.querySelector(`.field-error[data-field="${m[2]}"]`);
      control = section.querySelector(`[name="${m[2]}"]`);
    } else if (/timezone$/.test(name)) {
      target = $("#timezone-error");
      control = $("#timezone");
    }
    if (target) {
      target.textContent = message;
      control?.setAttribute("aria-invalid", "true");
      placed += 1;
    }
  }
  const first = $('[aria-invalid="true"]');
  if (first) first.focus();
  return placed;
}

async function load() {
  try {
    const data = await api(PREFS);
    const prefs = itemsOf(data).length ? itemsOf(data) : (data.preferences || []);
    render(prefs);
    $("#timezone").value = data.timezone || "";
  } catch (err) {
    $("#prefs-loading").hidden = true;
    showStatus($("#prefs-status"), `Could not load preferences: ${err.message}`, "error");
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearFieldErrors();
  const sections = $$(".pref-card", cards);
  const body = { preferences: sections.map(readCard) };
  const tz = $("#timezone").value.trim();
  if (tz) body.timezone = tz;
  if (form.dataset.replace === "true") body.replace = true;
  const status = $("#prefs-status");
  showStatus(status, "Saving…");
  try {
    const data = await api(PREFS, { method: "PUT", body });
    form.dataset.replace = "";
    const prefs = itemsOf(data).length ? itemsOf(data) : (data && data.preferences);
    if (prefs && prefs.length) render(prefs);
    showStatus(status, "Preferences saved.", "ok");
    announce("Preferences saved");
  } catch (err) {
    const placed = err.status === 422 ? showFieldErrors(err.fields, sections) : 0;
    showStatus(status, placed ? `Not saved: fix the ${placed === 1 ? "field" : "fields"} marked below. ${err.message}` : `Not saved: ${err.message}`, "error");
  }
});

$("#reset").addEventListener("click", async () => {
  if (!(await confirmDialog("Reset every category to the hub's defaults?", "Reset"))) return;
  clearFieldErrors();
  try {
    const data = await api(`${PREFS}/reset`, { method: "POST" });
    const prefs = itemsOf(data).length ? itemsOf(data) : (data && data.preferences);
    if (prefs && prefs.length) render(prefs); else await load();
    showStatus($("#prefs-status"), "Preferences reset to the defaults.", "ok");
    announce("Preferences reset");
  } catch (err) {
    showStatus($("#prefs-status"), `Reset failed: ${err.message}`, "error");
  }
});

// ---------------------------------------------------------------- ready-made sets
async function loadTemplates() {
  try {
    const data = await api(`${PREFS}/templates`);
    templates = itemsOf(data).length ? itemsOf(data) : (data.templates || []);
    const select = $("#template");
    for (const t of templates) {
      select.append(h("option", { value: t.id ?? t.name }, t.description ? `${t.name || t.id}: ${t.description}` : (t.name || t.id)));
    }
  } catch { $("#template").disabled = true; }
}

$("#template").addEventListener("change", (ev) => {
  const t = templates.find((x) => String(x.id ?? x.name) === ev.target.value);
  if (!t) return;
  const items = (t.body && t.body.preferences) || t.preferences || [];
  const fallback = items.find((p) => p.category === "*");
  for (const section of $$(".pref-card", cards)) {
    const p = items.find((x) => x.category === section.dataset.category) || fallback;
    if (!p) continue;
    const q = (sel) => section.querySelector(sel);
    if (p.enabled !== undefined) q('[name="enabled"]').checked = p.enabled;
    if (p.delivery_methods) {
      for (const box of $$('[name="delivery_methods"]', section)) box.checked = p.delivery_methods.includes(box.value);
    }
    if (p.frequency) q('[name="frequency"]').value = p.frequency;
    if ("quiet_hours_start" in p) q('[name="quiet_hours_start"]').value = p.quiet_hours_start || "";
    if ("quiet_hours_end" in p) q('[name="quiet_hours_end"]').value = p.quiet_hours_end || "";
  }
  form.dataset.replace = "true";
  showStatus($("#prefs-status"), `Applied “${ev.target.selectedOptions[0].textContent}”. Save to keep it.`, "ok");
});

// ---------------------------------------------------------------- email opt-out
const optOut = $("#email-opt-out");
async function loadEmail() {
  try {
    const data = await api(EMAIL);
    optOut.checked = Boolean(data.email_opt_out ?? data.opt_out ?? data.opted_out ?? data.unsubscribed);
  } catch (err) {
    optOut.disabled = true;
    showStatus($("#email-status"), `Email settings unavailable: ${err.message}`, "error");
  }
}
optOut.addEventListener("change", async () => {
  const status = $("#email-status");
  try {
    await api(EMAIL, { method: "PUT", body: { email_opt_out: optOut.checked } });
    showStatus(status, optOut.checked ? "You will get no email from the hub." : "Email is on again.", "ok");
  } catch (err) {
    optOut.checked = !optOut.checked;
    showStatus(status, `Not saved: ${err.message}`, "error");
  }
});

// ---------------------------------------------------------------- devices
async function loadDevices() {
  const list = $("#devices");
  const status = $("#devices-status");
  try {
    const devices = itemsOf(await api("/api/devices"));
    clear(list);
    if (!devices.length) list.append(h("li", { class: "muted" }, "No devices registered. Your apps register themselves when you allow push notifications."));
    for (const d of devices) {
      const short = d.token.length > 16 ? `${d.token.slice(0, 8)}…${d.token.slice(-6)}` : d.token;
      list.append(h("li", { class: "toolbar" },
        h("span", { class: "chip" }, d.platform),
        h("span", { class: "grow" }, d.app || "app", " · ", h("code", {}, short)),
        timeEl(d.created_at),
        h("button", { type: "button", class: "btn danger", "aria-label": `Remove ${d.platform} device ${short}`,
          onclick: async () => {
            if (!(await confirmDialog("Remove this device? It will get no more push notifications.", "Remove"))) return;
            try {
              await api(`/api/devices/${encodeURIComponent(d.token)}`, { method: "DELETE" });
              showStatus(status, "Device removed.", "ok");
              loadDevices();
            } catch (err) { showStatus(status, `Could not remove: ${err.message}`, "error"); }
          } }, "Remove")));
    }
  } catch (err) {
    showStatus(status, `Devices unavailable: ${err.message}`, "error");
  }
}

function fillTimezones() {
  const box = $("#timezones");
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  for (const z of zones) box.append(h("option", { value: z }));
}

fillTimezones();
load();
loadTemplates();
loadEmail();
loadDevices();
