// Building DOM from data: every string goes in as text, never as HTML.

/**
 * h("li", {class: "x", dataset: {id: 1}, onclick: fn}, "text", child)
 * Attributes named on* become event listeners; text children become text nodes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Show each API field error in `#<idPrefix>-<field>-error` and mark `form`'s control. */
export function markFieldErrors(form, fields, idPrefix, fieldOf = (name) => name) {
  for (const [name, message] of Object.entries(fields || {})) {
    const field = fieldOf(name);
    const target = $(`#${idPrefix}-${field}-error`);
    if (target) target.textContent = message;
    form.querySelector(`[name="${field}"]`)?.setAttribute("aria-invalid", "true");
  }
}

/** Empty the field errors under `root` and unmark its invalid controls. */
export function clearFieldErrors(root = document) {
  for (const el of $$(".field-error", root)) el.textContent = "";
  for (const el of $$('[aria-invalid="true"]', root)) el.removeAttribute("aria-invalid");
}

/** "3 minutes ago" style time, with the exact time kept for a title/datetime. */
export function timeAgo(iso, now = Date.now()) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hr = Math.round(m / 60);
  if (hr < 24) return `${hr} h ago`;
  const d = Math.round(hr / 24);
  if (d < 7) return `${d} d ago`;
  return new Date(t).toLocaleDateString();
}

export function timeEl(iso) {
  return h("time", { datetime: iso || "", title: iso ? new Date(iso).toLocaleString() : "" },
    timeAgo(iso));
}

/** Say something to screen readers through the page's aria-live region. */
export function announce(text) {
  const region = document.getElementById("live-region");
  if (!region) return;
  region.textContent = "";
  // a fresh text node after a tick makes screen readers announce repeats too
  setTimeout(() => { region.textContent = text; }, 50);
}

/** A short visual toast (screen readers get the aria-live announcement instead). */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div", { class: `toast toast-${kind}` }, text);
  box.append(el);
  setTimeout(() => el.remove(), 4000);
}

/** Show a status message (success or error) inline in `el`. */
export function showStatus(el, text, kind = "info") {
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Ask a yes/no question in the shared confirm dialog; resolves true or false. */
export function confirmDialog(message, okLabel = "Confirm") {
  let dlg = document.getElementById("confirm-dialog");
  if (!dlg) {
    dlg = h("dialog", { id: "confirm-dialog", class: "dialog", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn", value: "cancel", id: "confirm-cancel" }, "Cancel"),
        h("button", { type: "button", class: "btn danger", value: "ok", id: "confirm-ok" }, "OK")));
    document.body.append(dlg);
  }
  dlg.querySelector("#confirm-text").textContent = message;
  const ok = dlg.querySelector("#confirm-ok");
  const cancel = dlg.querySelector("#confirm-cancel");
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = (value) => {
      ok.removeEventListener("click", onOk);
      cancel.removeEventListener("click", onCancel);
      dlg.removeEventListener("close", onClose);
      if (dlg.open) dlg.close();
      resolve(value);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    ok.addEventListener("click", onOk);
    cancel.addEventListener("click", onCancel);
    dlg.addEventListener("close", onClose);
    dlg.showModal();
    cancel.focus();
  });
}

/** Trigger a download of `text` as a file. */
export function download(filename, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Rows → CSV text, with cells that start like a formula escaped for spreadsheets. */
export function toCsv(columns, rows) {
  const cell = (v) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n";
}
