/**
 * hub live client: a plain ES module, no build step.
 *
 *   import { connect } from "/static/js/websocket_client.js";
 *   const client = connect({ url: "/ws/notifications" });
 *
 * Options (all optional):
 *   url          WebSocket path (default "/ws/notifications"); the session cookie authenticates
 *   ssePath      SSE fallback (default "/api/notifications/stream")
 *   pollPath     polling fallback (default "/api/notifications", called with ?since=ID&limit=50)
 *   transports   order to try, default ["ws", "sse", "poll"]; the next one is used only when
 *                the previous never worked in this page (a restarting server is retried instead)
 *   pingInterval seconds between server pings (default 25); silence for 2.5x that reconnects
 *   ui           true: drive #conn-status, #bell-badge, #toasts and #live-list on this page
 *
 * The client object: state, transport, lastId (last seq seen), lastNotificationId,
 *   send(obj), ack(id, action = "read" | "clicked"), subscribe(channel), unsubscribe(channel), close().
 *
 * Events on `document` (CustomEvent, data in `detail`):
 *   "hub:message"  every server message: {type: "notification.created" | "notification.updated" |
 *                  "notification.deleted" | "unread_count" | "activity.created" | "broadcast" |
 *                  "ready" | ..., seq?, ...}; duplicates (same seq) are never dispatched twice
 *   "hub:status"   {state: "connecting" | "open" | "reconnecting" | "sse" | "polling" | "closed",
 *                  transport: "ws" | "sse" | "poll", attempt}
 *   "hub:resync"   the server could not replay what was missed; the client itself fetches the
 *                  notifications created since the last one it saw (as notification.created),
 *                  other state (read marks, deletions) should be refetched by the page
 *
 * A page whose <body> has data-hub-live="/ws/path" starts a client with ui: true on load
 * (no inline script needed; the CSP forbids them). Data is written with textContent only.
 */

const DEFAULTS = {
  url: "/ws/notifications",
  ssePath: "/api/notifications/stream",
  pollPath: "/api/notifications",
  transports: ["ws", "sse", "poll"],
  pingInterval: 25,
  ui: false,
  backoffBase: 500,
  backoffMax: 15000,
  pollEvery: 3000,
  upgradeEvery: 30000,
};

const FATAL_CLOSE = new Set([4401, 4403]);

/** Exponential backoff with jitter: half fixed, half random, so clients spread out. */
export function backoff(attempt, base = DEFAULTS.backoffBase, max = DEFAULTS.backoffMax) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** The list of a polling answer (a bare list, or inside items / notifications). */
async function itemsOf(response) {
  const body = await response.json();
  return Array.isArray(body) ? body : body.items || body.notifications || [];
}

class LiveClient {
  constructor(options) {
    this.opts = { ...DEFAULTS, ...options };
    this.state = "connecting";
    this.transport = null;
    this.lastId = null;
    this.lastNotificationId = 0;
    this.attempt = 0;
    this.worked = new Set();
    this.tier = 0;
    this.closed = false;
    this.ws = null;
    this.es = null;
    this.timers = {};
    this.ui = this.opts.ui ? new LiveUI() : null;
  }

  // -------------------------------------------------------------- public
  start() { this.open(); return this; }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  ack(id, action = "read") { return this.send({ type: "ack", id: Number(id), action }); }
  subscribe(channel) { return this.send({ type: "subscribe", channel }); }
  unsubscribe(channel) { return this.send({ type: "unsubscribe", channel }); }

  close() {
    this.closed = true;
    this.teardown();
    this.setState("closed");
  }

  // -------------------------------------------------------------- plumbing
  setState(state) {
    this.state = state;
    const detail = { state, transport: this.transport, attempt: this.attempt };
    document.dispatchEvent(new CustomEvent("hub:status", { detail }));
    if (this.ui) this.ui.status(state);
  }

  clearTimer(name) {
    if (this.timers[name]) { clearTimeout(this.timers[name]); delete this.timers[name]; }
  }

  teardown() {
    for (const name of Object.keys(this.timers)) this.clearTimer(name);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000); } catch (_) { /* already closed */ }
    }
    if (this.es) { this.es.close(); this.es = null; }
  }

  open() {
    if (this.closed) return;
    const kind = this.opts.transports[this.tier] || "poll";
    this.transport = kind;
    if (kind === "ws") this.openWs();
    else if (kind === "sse") this.openSse();
    else this.startPolling();
  }

  /** The transport failed: retry it with backoff, or move to the next if it never worked. */
  retry() {
    if (this.closed) return;
    this.teardown();
    const kind = this.opts.transports[this.tier];
    const failedBefore = this.attempt >= 2 && !this.worked.has(kind);
    if (failedBefore && this.tier < this.opts.transports.length - 1) {
      this.tier += 1;
      this.attempt = 0;
      this.open();
      if (this.opts.transports[0] === "ws") this.scheduleUpgrade();
      return;
    }
    this.setState("reconnecting");
    const delay = backoff(this.attempt, this.opts.backoffBase, this.opts.backoffMax);
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  /** While on a fallback, try the WebSocket again now and then. */
  scheduleUpgrade() {
    this.clearTimer("upgrade");
    this.timers.upgrade = setTimeout(() => {
      if (this.closed || this.tier === 0) return;
      const probe = new WebSocket(this.wsUrl());
      probe.onopen = () => {
        probe.close(1000);
        this.teardown();
        this.tier = 0;
        this.attempt = 0;
        this.open();
      };
      probe.onerror = () => this.scheduleUpgrade();
    }, this.opts.upgradeEvery);
  }

  watchdog() {
    this.clearTimer("watchdog");
    const silence = this.opts.pingInterval * 2500;
    this.timers.watchdog = setTimeout(() => this.retry(), silence);
  }

  wsUrl() {
    const url = new URL(this.opts.url, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("unread", "1");
    if (this.lastId !== null) url.searchParams.set("last_id", String(this.lastId));
    return url.toString();
  }

  /** A frame from the WebSocket or SSE: the server is alive; "ready" means `kind` works. */
  receive(data, kind, openState) {
    this.watchdog();
    let msg;
    try { msg = JSON.parse(data); } catch (_) { return; }
    if (msg.type === "ping") {
      if (kind === "ws") this.send({ type: "pong" });
      return;
    }
    if (msg.type === "ready") {
      this.worked.add(kind);
      this.attempt = 0;
      this.setState(openState);
    }
    this.handle(msg);
  }

  // -------------------------------------------------------------- WebSocket
  openWs() {
    this.setState(this.attempt ? "reconnecting" : "connecting");
    let ws;
    try { ws = new WebSocket(this.wsUrl()); } catch (_) { this.retry(); return; }
    this.ws = ws;
    ws.onopen = () => { this.watchdog(); };
    ws.onmessage = (ev) => this.receive(ev.data, "ws", "open");
    ws.onclose = (ev) => {
      this.ws = null;
      if (FATAL_CLOSE.has(ev.code)) {
        this.teardown();
        this.setState("closed");
        return;
      }
      this.retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  // -------------------------------------------------------------- SSE
  openSse() {
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const url = new URL(this.opts.ssePath, window.location.href);
    if (this.lastId !== null) url.searchParams.set("last_id", String(this.lastId));
    const es = new EventSource(url.toString(), { withCredentials: true });
    this.es = es;
    es.onmessage = (ev) => this.receive(ev.data, "sse", "sse");
    es.onopen = () => this.watchdog();
    // EventSource retries by itself with Last-Event-ID; we take over to apply backoff
    es.onerror = () => this.retry();
  }

  // -------------------------------------------------------------- polling
  startPolling() {
    this.setState("polling");
    const poll = async () => {
      if (this.closed || this.transport !== "poll") return;
      try {
        const r = await this.fetchSince(50);
        if (r.ok) {
          this.worked.add("poll");
          for (const n of await itemsOf(r)) this.handle({ type: "notification.created", notification: n });
          if (this.state !== "polling") this.setState("polling");
        } else if (r.status === 401 || r.status === 403) {
          this.close();
          return;
        }
      } catch (_) {
        this.setState("reconnecting");
      }
      this.timers.poll = setTimeout(poll, backoff(1, this.opts.pollEvery, this.opts.pollEvery * 2));
    };
    poll();
  }

  /** The notifications newer than the last one seen (the polling endpoint). */
  fetchSince(limit) {
    const url = new URL(this.opts.pollPath, window.location.href);
    url.searchParams.set("since", String(this.lastNotificationId));
    url.searchParams.set("limit", String(limit));
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  }

  /** After a resync: fetch the notifications missed since the last one seen. */
  async catchUp() {
    if (!this.lastNotificationId) return;  // nothing shown yet: the page loads its own list
    try {
      const r = await this.fetchSince(100);
      if (!r.ok) return;
      for (const n of await itemsOf(r)) {
        if (n.id > this.lastNotificationId) this.handle({ type: "notification.created", notification: n });
      }
    } catch (_) { /* the next resync or reconnect tries again */ }
  }

  // -------------------------------------------------------------- messages
  handle(msg) {
    if (!msg || typeof msg.type !== "string") return;
    if (typeof msg.seq === "number") {
      if (this.lastId !== null && msg.seq <= this.lastId) return;
      this.lastId = msg.seq;
    }
    if (msg.type === "resync") {
      this.lastId = null;
      document.dispatchEvent(new CustomEvent("hub:resync", { detail: {} }));
      this.catchUp();
    }
    if (msg.type === "ready" && typeof msg.last_id === "number") {
      this.lastId = Math.max(this.lastId || 0, msg.last_id);
    }
    const n = msg.notification;
    if (msg.type === "notification.created" && n && typeof n.id === "number") {
      if (n.id <= this.lastNotificationId && this.transport === "poll") return;
      this.lastNotificationId = Math.max(this.lastNotificationId, n.id);
    }
    document.dispatchEvent(new CustomEvent("hub:message", { detail: msg }));
    if (this.ui) this.ui.message(msg);
  }
}

/** The status dot, unread badge, toasts and list of /live (any page with those ids). */
class LiveUI {
  constructor() {
    this.unread = 0;
    this.statusEl = document.getElementById("conn-status");
    this.badge = document.getElementById("bell-badge");
    this.toasts = document.getElementById("toasts");
    this.list = document.getElementById("live-list");
  }

  status(state) {
    if (!this.statusEl) return;
    const text = {
      connecting: "Connecting…", open: "Live", reconnecting: "Reconnecting…",
      sse: "Live (SSE)", polling: "Polling", closed: "Offline",
    }[state] || state;
    this.statusEl.dataset.state = state;
    const label = this.statusEl.querySelector(".conn-text") || this.statusEl;
    label.textContent = text;
  }

  setUnread(count) {
    this.unread = Math.max(0, Number(count) || 0);
    if (!this.badge) return;
    this.badge.textContent = String(this.unread);
    this.badge.hidden = this.unread === 0;
  }

  toast(title) {
    if (!this.toasts) return;
    const el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = title;
    this.toasts.appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  message(msg) {
    if (msg.type === "unread_count") {
      this.setUnread(msg.count);
    } else if (msg.type === "notification.created" && msg.notification) {
      const n = msg.notification;
      this.toast(String(n.title ?? ""));
      if (!n.is_read) this.setUnread(this.unread + 1);
      if (this.list) {
        const li = document.createElement("li");
        li.className = "live-item";
        li.dataset.id = String(n.id);
        const title = document.createElement("strong");
        title.textContent = String(n.title ?? "");
        const body = document.createElement("span");
        body.textContent = n.body ? ` — ${n.body}` : "";
        li.append(title, body);
        this.list.prepend(li);
      }
    } else if (msg.type === "broadcast" && typeof msg.text === "string") {
      this.toast(msg.text);
    }
  }
}

export function connect(options = {}) {
  return new LiveClient(options).start();
}

export default connect;

const autostart = document.body && document.body.dataset.hubLive;
if (autostart) {
  const interval = Number(document.body.dataset.pingInterval) || DEFAULTS.pingInterval;
  const transports = document.body.dataset.hubTransports;
  window.hubLive = connect({
    url: autostart,
    ui: true,
    pingInterval: interval,
    ...(transports ? { transports: transports.split(",") } : {}),
  });
}
