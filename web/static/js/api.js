// The JSON API as the pages use it: session cookie, CSRF header, errors as data.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
  }
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function api(path, { method = "GET", body, query, raw = false } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += (url.includes("?") ? "&" : "?") + qs;
  }
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, "network", "The hub could not be reached. Check your connection.");
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const e = (data && data.error) || {};
    if (response.status === 401) {
      throw new ApiError(401, e.code || "unauthorized", "Your session has ended. Sign in again.");
    }
    const message = e.message || (response.status === 404 && !data
      ? "This part of the hub is not available yet."
      : `Request failed (${response.status}).`);
    throw new ApiError(response.status, e.code || "http_error", message, e.fields);
  }
  return data;
}

/** The list inside an API answer, whatever the endpoint calls it. */
export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (!data) return [];
  for (const key of ["items", "results", "notifications", "activities", "devices", "data"]) {
    if (Array.isArray(data[key])) return data[key];
  }
  return [];
}
