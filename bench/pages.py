"""Page load and interaction response times of the web pages, in Chromium, on demo data.

Seeds a fresh hub with `hub demo` (SQLite + chDB, as `make run` does), serves
it with `hub serve` in a subprocess, and drives Debian's Chromium:

- load: the browser's navigation timing (response end, DOMContentLoaded,
  load event) and "ready", the time from navigation start until the page's
  data is on screen (first list item, first chart, ...);
- interaction: from the click or keystroke until the page shows the result,
  timed inside the page (animation frames), so the driver's round trips
  are not counted.

The dashboards draw the charts on screen first and the rest one per frame, so
they get two figures: "first view" (KPI cards and the charts in the viewport
drawn) and "data ready" / "all charts" (all six drawn). Their answers are
cached until new events are ingested (dashboards/cache.py): `--cache-ttl 0`
measures every refresh as a cache miss.

Targets: load under 500 ms, interactions under 200 ms.

    .venv/bin/python bench/pages.py [--runs 5] [--cache-ttl 0]

Prints a table and writes bench/results/pages.json (pages-nocache.json with
--cache-ttl 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LOAD_TARGET_MS = 500
INTERACTION_TARGET_MS = 200

# page → (path, who, selector that means "the data is on screen")
PAGES = {
    "notifications": ("/notifications", "user", "#note-list > li"),
    "preferences": ("/preferences", "user", ".pref-card"),
    "activity": ("/activity", "user", "#act-list[data-state=ready]"),
    "dashboards": ("/dashboards", "admin", "body[data-dashboards-loaded]"),
    "admin_sql": ("/admin/sql", "admin", "#examples button"),
}

NAV_TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {response_end: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd,
          load: n.loadEventEnd};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(tmp: Path, cache_ttl: str | None) -> tuple[subprocess.Popen[bytes], str, str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HUB_VAR_DIR": str(tmp),
        "HUB_DATABASE_URL": f"sqlite:///{tmp}/hub.db",
        "HUB_ANALYTICS_URL": f"chdb://{tmp}/analytics",
        "HUB_EMAIL_URL": f"file://{tmp}/mail",
        "HUB_BASE_URL": url,
        "HUB_LOG_LEVEL": "warning",
    }
    if cache_ttl is not None:
        env["HUB_DASHBOARDS_CACHE_TTL"] = cache_ttl
    demo = subprocess.run(
        [sys.executable, "-m", "hub", "demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    out = demo.stdout + demo.stderr
    login = re.search(r"login link: (\S+)", out)
    key = re.search(r"Admin API key.*: (hub_\S+)", out)
    if not login or not key:
        raise SystemExit(f"could not read the demo output:\n{out}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("hub serve did not start")
        time.sleep(0.2)
    return proc, url, login.group(1), key.group(1)


def wait_ingested(url: str, key: str) -> None:
    """Until the demo's outbox reached chDB, so dashboards show the demo data."""
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = httpx.post(
            f"{url}/api/admin/sql",
            json={"query": "SELECT count() AS n FROM events"},
            headers=headers,
            timeout=10,
        )
        if r.status_code == 200 and r.json()["rows"][0][0] >= 360:
            return
        time.sleep(0.5)


# Records, inside the page, when its data first reached the DOM (and, on the
# dashboards, when the first view was complete).
FIRST_VIEW = "body[data-dashboards-visible]"
READY_JS = """
(() => {
  const selectors = %s;
  const sel = selectors[location.pathname];
  if (!sel) return;
  const check = () => {
    if (window.__readyAt === undefined && document.querySelector(sel)) {
      window.__readyAt = performance.now();
    }
    if (window.__firstViewAt === undefined && document.querySelector(%s)) {
      window.__firstViewAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""

# Runs an action in the page and polls (every animation frame) until `done`
# holds: the time the user waits, without the test driver's own round trips.
# (every function is made before the first await: the page's CSP forbids eval,
# and the driver's exemption only covers the synchronous part)
INTERACT_JS = """async ([action, steps]) => {
  const act = new Function(action);
  const checks = steps.map((done) => [done, new Function("return (" + done + ")")]);
  const t0 = performance.now();
  const times = [];
  act();
  for (const [done, ok] of checks) {
    while (!ok()) {
      await new Promise((r) => requestAnimationFrame(r));
      if (performance.now() - t0 > 20000) throw new Error("timed out: " + done);
    }
    times.push(performance.now() - t0);
  }
  return times;
}"""


def measure_load(page: Page, url: str, path: str, ready: str) -> dict[str, float]:
    page.goto(url + path)
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("load")
    timing = page.evaluate(NAV_TIMING)
    out = {**timing, "ready": page.evaluate("() => window.__readyAt")}
    first_view = page.evaluate("() => window.__firstViewAt")
    if first_view is not None:
        out["first_view"] = first_view
    return out


def interact(page: Page, action: str, done: str) -> float:
    return interact_steps(page, action, [done])[0]


def interact_steps(page: Page, action: str, steps: list[str]) -> list[float]:
    """Times (ms from the action) at which each condition first held, in order."""
    return [float(t) for t in page.evaluate(INTERACT_JS, [action, steps])]


LIST_READY = "document.querySelector('#note-list').dataset.state === 'ready'"


def interactions_user(page: Page, url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    page.goto(url + "/notifications")
    page.wait_for_selector("#note-list[data-state=ready] > li")
    out["center: filter by category"] = interact(
        page,
        "[...document.querySelectorAll('#category-list input')]"
        ".find(i => i.value === 'billing').click()",
        LIST_READY + " && document.querySelector('#note-list > li') &&"
        " [...document.querySelectorAll('#note-list .chip')]"
        ".every(c => c.textContent !== 'security')",
    )
    out["center: sort oldest first"] = interact(
        page,
        "const s = document.querySelector('#sort'); s.value = 'oldest';"
        " s.dispatchEvent(new Event('change'))",
        LIST_READY + " && document.querySelector('#note-list > li')",
    )
    out["center: search (incl. 120 ms debounce)"] = interact(
        page,
        "const s = document.querySelector('#search'); s.value = 'refund';"
        " s.dispatchEvent(new Event('input'))",
        LIST_READY + " && document.querySelector('#note-list > li') &&"
        " [...document.querySelectorAll('#note-list .note-title')]"
        ".every(t => /refund/i.test(t.textContent))",
    )
    page.fill("#search", "")
    page.wait_for_timeout(400)
    page.wait_for_selector("#note-list[data-state=ready] > li")
    out["center: open detail"] = interact(
        page,
        "document.querySelector('#note-list .note-open').click()",
        "document.querySelector('#note-detail[open]')",
    )
    page.keyboard.press("Escape")
    out["center: mark 2 selected read"] = interact(
        page,
        "document.querySelector('#list-status').dataset.kind = '';"
        " const b = document.querySelectorAll('#note-list .note-select');"
        " b[0].click(); b[1].click(); document.querySelector('#bulk-read').click()",
        "document.querySelector('#list-status').dataset.kind === 'ok'",
    )
    out["bell: open panel"] = interact(
        page,
        "document.querySelector('#bell').click()",
        "document.querySelector('#panel .note')",
    )
    page.keyboard.press("Escape")

    page.goto(url + "/preferences")
    page.wait_for_selector(".pref-card")
    out["preferences: save"] = interact(
        page,
        "document.querySelector('#prefs-status').dataset.kind = '';"
        " document.querySelector('#save').click()",
        "document.querySelector('#prefs-status').dataset.kind === 'ok'",
    )

    page.goto(url + "/activity")
    page.wait_for_selector("#act-list[data-state=ready]", state="attached")
    out["activity: filter by status"] = interact(
        page,
        "const s = document.querySelector('#f-status'); s.value = 'failed';"
        " s.dispatchEvent(new Event('change', {bubbles: true}))",
        "document.querySelector('#act-list').dataset.state === 'ready'",
    )
    return out


def interactions_admin(page: Page, url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    page.goto(url + "/dashboards")
    page.wait_for_selector("body[data-dashboards-loaded]")
    # the category filter: on the demo data every event is in_app, so a channel
    # filter of in_app changes no chart (and the page redraws none); a category does
    for value in ("billing", ""):
        before = page.get_attribute("body", "data-dashboards-loaded")
        visible, done = interact_steps(
            page,
            f"document.querySelector('#d-category').value = {json.dumps(value)};"
            " document.querySelector('#dash-filters').requestSubmit()",
            [
                f"document.body.dataset.dashboardsVisible !== {json.dumps(before)}",
                f"document.body.dataset.dashboardsLoaded !== {json.dumps(before)}",
            ],
        )
        label = f"dashboards: category {value or 'all'}"
        out[f"{label} (charts on screen)"] = visible
        out[f"{label} (all 6 charts)"] = done
    page.goto(url + "/admin/sql")
    page.wait_for_selector("#examples button")
    out["sql console: run a GROUP BY"] = interact(
        page,
        "document.querySelector('#sql').value ="
        " 'SELECT category, count() AS n FROM events GROUP BY category';"
        " document.querySelector('#run').click()",
        "document.querySelector('#results-table')",
    )
    return out


def api_times(url: str, key: str, runs: int) -> dict[str, Any]:
    """The server's share of the slow interactions: the API calls alone, over HTTP."""
    headers = {"Authorization": f"Bearer {key}"}
    sql = {"query": "SELECT category, count() AS n FROM events GROUP BY category"}
    data: dict[str, list[float]] = {"miss": [], "hit": []}
    console: list[float] = []
    engine: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for i in range(runs):
            # a new window each round (a cache miss), then the same again (a hit
            # unless the cache is off)
            start = time.time() - 7 * 86400 - 60 * (i + 1)
            window = {
                "channel": "in_app",
                "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
            }
            for _ in range(2):
                started = time.perf_counter()
                r = c.get("/api/dashboards/data", params=window)
                r.raise_for_status()
                data[r.headers.get("x-hub-cache", "miss")].append(
                    (time.perf_counter() - started) * 1000
                )
            started = time.perf_counter()
            r = c.post("/api/admin/sql", json=sql)
            console.append((time.perf_counter() - started) * 1000)
            engine.append(float(r.json()["elapsed_ms"]))
    return {
        **{
            f"GET /api/dashboards/data (cache {kind})": summarize(values)
            for kind, values in data.items()
            if values
        },
        "POST /api/admin/sql": summarize(console),
        "POST /api/admin/sql elapsed_ms (chDB)": summarize(engine),
    }


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
        "runs": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each measurement")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument(
        "--cache-ttl", default=None, help="HUB_DASHBOARDS_CACHE_TTL for the hub (0: no cache)"
    )
    args = parser.parse_args()
    results_file = RESULTS
    if args.cache_ttl is not None and float(args.cache_ttl) <= 0:
        results_file = RESULTS.with_name("pages-nocache.json")

    with tempfile.TemporaryDirectory() as tmp_dir:
        proc, url, login, key = start_hub(Path(tmp_dir), args.cache_ttl)
        try:
            wait_ingested(url, key)
            results = run(url, login, key, args.runs, args.chromium)
            results["api"] = api_times(url, key, args.runs)
        finally:
            proc.terminate()
            proc.wait(20)
    results["dashboards_cache_ttl"] = args.cache_ttl
    report(results)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {results_file.relative_to(ROOT)}")
    return 0


def run(url: str, login: str, key: str, runs: int, chromium: str) -> dict[str, Any]:
    loads: dict[str, list[dict[str, float]]] = {name: [] for name in PAGES}
    clicks: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        user = browser.new_context(viewport={"width": 1280, "height": 800})
        admin = browser.new_context(viewport={"width": 1280, "height": 800})
        ready_js = READY_JS % (
            json.dumps({path: ready for path, _, ready in PAGES.values()}),
            json.dumps(FIRST_VIEW),
        )
        user.add_init_script(ready_js)
        admin.add_init_script(ready_js)
        user_page = user.new_page()
        user_page.goto(login)
        admin.request.post(f"{url}/api/auth/session", data={"api_key": key})
        admin_page = admin.new_page()
        for name, (path, who, ready) in PAGES.items():
            page = user_page if who == "user" else admin_page
            measure_load(page, url, path, ready)  # warm caches (plotly.js, templates)
            for _ in range(runs):
                loads[name].append(measure_load(page, url, path, ready))
        admin_page.goto(f"{url}/dashboards")
        admin_page.wait_for_selector("body[data-dashboards-loaded]")
        breakdown = admin_page.evaluate(
            "() => performance.getEntriesByType('measure')"
            ".filter(m => m.name.startsWith('hub:')).map(m => [m.name, m.duration])"
        )
        for _ in range(runs):
            for label, ms in {
                **interactions_user(user_page, url),
                **interactions_admin(admin_page, url),
            }.items():
                clicks.setdefault(label, []).append(ms)
        browser.close()
    return {
        "targets_ms": {"load": LOAD_TARGET_MS, "interaction": INTERACTION_TARGET_MS},
        "load": {
            name: {
                metric: summarize([r[metric] for r in rows if metric in r]) for metric in rows[0]
            }
            for name, rows in loads.items()
        },
        "interaction": {label: summarize(values) for label, values in clicks.items()},
        "dashboards_breakdown_ms": {name: round(ms, 1) for name, ms in breakdown},
    }


def report(results: dict[str, Any]) -> None:
    print(
        f"\nPage load, ms (median / max of {next(iter(results['load'].values()))['ready']['runs']})"
    )
    print(
        f"{'page':<16}{'response':>12}{'DOMContent':>14}{'load':>12}{'first view':>14}"
        f"{'data ready':>14}"
    )
    for name, m in results["load"].items():
        cells = [
            f"{m[k]['median']:.0f} / {m[k]['max']:.0f}" if k in m else "–"
            for k in ("response_end", "dom_content_loaded", "load", "first_view", "ready")
        ]
        print(f"{name:<16}{cells[0]:>12}{cells[1]:>14}{cells[2]:>12}{cells[3]:>14}{cells[4]:>14}")
    print("\nInteraction, ms (median / max)")
    for label, m in results["interaction"].items():
        flag = "" if m["median"] < INTERACTION_TARGET_MS else "  (over target)"
        print(f"  {label:<54}{m['median']:>7.0f} / {m['max']:.0f}{flag}")
    print("\nOne dashboards load, where the time goes (ms)")
    for name, ms in results.get("dashboards_breakdown_ms", {}).items():
        print(f"  {name:<54}{ms:>7.0f}")
    print("\nThe API alone (HTTP, no browser), ms (median / max)")
    for label, m in results.get("api", {}).items():
        print(f"  {label:<54}{m['median']:>7.0f} / {m['max']:.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
