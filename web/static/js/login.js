// Sign in with an API key (analysts, admins) or a user token.
import { api } from "./api.js";
import { $ } from "./dom.js";

const form = $("#login-form");
const input = $("#login-secret");
const error = $("#login-error");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const secret = input.value.trim();
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  if (!secret) {
    error.textContent = "Enter an API key or a user token.";
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  const body = secret.startsWith("hub_") ? { api_key: secret } : { token: secret };
  try {
    const session = await api("/api/auth/session", { method: "POST", body });
    const scopes = session.scopes || [];
    let home = "/notifications";
    if (session.kind !== "user") {
      home = scopes.includes("analytics") || scopes.includes("admin") ? "/dashboards" : "/login";
    }
    window.location.assign(form.dataset.next || home);
  } catch (err) {
    error.textContent = err.status === 401
      ? "That key or token was not accepted."
      : err.message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
});
