"""Browser tests: one real hub (`hub serve` in a subprocess, SQLite + chDB) and one Chromium.

The hub runs as its own process so its chDB store never meets the one the
in-process analytics tests use (chDB allows one data directory per process).
Screenshots of every page at both viewports go to var/screenshots/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.auth import create_api_key, make_user_token
from hub.db import Database
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SECRET,
    free_port,
    run_sync,
    service_missing,
)

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Recorded in every page before its own scripts run: CSP violations and errors.
WATCH_JS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample});
});
"""


@dataclass
class LiveServer:
    url: str
    keys: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    sent: list[dict[str, Any]] = field(default_factory=list)

    def token(self, user_id: str, ttl: int = 3600) -> str:
        return make_user_token(SECRET, user_id, ttl=ttl)

    def client(self, key: str | None = None, user: str | None = None) -> httpx.Client:
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def send(self, user_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"user_id": user_id, "category": "general", "title": "Hello"}
        body.update(fields)
        with self.client("notify") as c:
            r = c.post("/api/notifications", json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()["notifications"][0]

    def activity(self, user_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": user_id,
            "activity_type": "payment",
            "action": "completed",
            "title": "Payment",
        }
        body.update(fields)
        with self.client("activity") as c:
            r = c.post("/api/activities", json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()


async def _prepare(db_url: str) -> dict[str, str]:
    db = Database(db_url)
    await db.connect()
    try:
        await db.migrate()
        keys = {}
        for scope in ("notify", "activity", "analytics", "admin"):
            _, keys[scope] = await create_api_key(db, f"browser-{scope}", [scope])
        return keys
    finally:
        await db.disconnect()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("webhub")
    db_url = f"sqlite:///{tmp}/hub.db"
    keys = run_sync(_prepare(db_url))
    port = free_port()
    env = {
        **os.environ,
        "HUB_VAR_DIR": str(tmp),
        "HUB_DATABASE_URL": db_url,
        "HUB_ANALYTICS_URL": f"chdb://{tmp}/analytics",
        "HUB_BROADCAST_URL": "memory://",
        "HUB_EMAIL_URL": f"file://{tmp}/mail",
        "HUB_SECRET_KEY": SECRET,
        "HUB_BASE_URL": f"http://127.0.0.1:{port}",
        "HUB_RUN_WORKERS": "true",
        "HUB_INGEST_INTERVAL": "0.3",
        "HUB_LOG_LEVEL": "warning",
    }
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"hub serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    server = LiveServer(url=url, keys=keys, proc=proc, log=log)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


# Per module, not per session: Playwright's sync API keeps an event loop marked
# as running while it is open, which would break the async tests collected after.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", f"{CHROMIUM} not found")
    from playwright.sync_api import expect, sync_playwright

    # the machine is shared with other test runs: be patient, not flaky
    expect.set_options(timeout=10_000)

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Pages:
    """Opens signed-in pages in fresh browser contexts and checks them."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []

    def open(
        self,
        path: str,
        *,
        user: str | None = None,
        key: str | None = None,
        viewport: dict[str, int] = DESKTOP,
    ) -> Any:
        ctx = self.browser.new_context(viewport=viewport, accept_downloads=True)
        ctx.add_init_script(WATCH_JS)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        if user:
            page.goto(f"{self.server.url}/login?token={self.server.token(user)}")
        if key:
            r = ctx.request.post(
                f"{self.server.url}/api/auth/session",
                data=json.dumps({"api_key": self.server.keys[key]}),
                headers={"Content-Type": "application/json"},
            )
            assert r.ok, r.text()
        page.goto(f"{self.server.url}{path}")
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Any, live_server: LiveServer) -> Iterator[Pages]:
    p = Pages(browser, live_server)
    yield p
    p.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kind = "phone" if page.viewport_size["width"] < 600 else "desktop"
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{kind}.png"), full_page=True)


def axe_audit(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core findings on the page as it is now."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} missing: run `npm install` in tests/web", pytrace=False)
    if not page.evaluate("() => Boolean(window.axe)"):
        # evaluated through the DevTools protocol, so the page's CSP does not apply
        page.evaluate(AXE_JS.read_text() + "\n;undefined")
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ["violations"]});
          return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return list(result)


def page_health(page: Any) -> None:
    """No script errors and no script blocked by the CSP on this page."""
    assert page.errors == [], page.errors
    violations = page.evaluate("() => window.__csp || []")
    scripts = [v for v in violations if v["directive"].startswith("script-src")]
    assert scripts == [], scripts


def layout_fits(page: Any) -> list[str]:
    """Horizontal scroll and too-small touch targets, as a list of problems."""
    return list(
        page.evaluate(
            """() => {
          const problems = [];
          const short = (el) => el.outerHTML.slice(0, 80);
          const doc = document.scrollingElement;
          if (doc.scrollWidth > window.innerWidth + 1) {
            problems.push(`page scrolls sideways: ${doc.scrollWidth} > ${window.innerWidth}`);
          }
          const sel = "button, .btn, select, textarea, a.brand, .mainnav a, summary, " +
            "input:not([type=checkbox]):not([type=radio]):not([type=hidden])";
          for (const el of document.querySelectorAll(sel)) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height || el.closest("dialog:not([open]), [hidden]")) continue;
            if (el.closest(".modebar, .js-plotly-plot")) continue;
            if (r.height < 43.5) problems.push(`${short(el)} is ${r.height}px tall`);
          }
          for (const el of document.querySelectorAll("input[type=checkbox], input[type=radio]")) {
            const target = el.closest("label") || el.closest("li") || el;
            const r = target.getBoundingClientRect();
            if (!r.width) continue;
            if (r.height < 43.5) problems.push(`${short(el)} target ${r.height}px`);
          }
          return problems;
        }"""
        )
    )
