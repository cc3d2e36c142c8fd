"""The browser client in real Chromium: live notifications, fallbacks, reconnect after a restart."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.auth import create_api_key, make_user_token
from hub.db import Database
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SECRET, free_port, service_missing
from tests.hub.realtime.conftest import HubProcess, hub_env


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat at set-up
        service_missing("Chromium", f"{CHROMIUM} not found")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def served(tmp_path: Path, hub_processes: list[HubProcess]) -> AsyncIterator[Any]:
    db_url = f"sqlite:///{tmp_path}/hub.db"
    env = hub_env(tmp_path, db_url, "memory://", f"hubtest{secrets.token_hex(4)}")
    env["HUB_WS_PING_INTERVAL"] = "5"
    proc = HubProcess(env, free_port())
    env["HUB_BASE_URL"] = proc.base
    hub_processes.append(proc)
    await asyncio.to_thread(proc.start)
    db = Database(db_url)
    await db.connect()
    try:
        _, key = await create_api_key(db, "producer", ["notify"])
    finally:
        await db.disconnect()
    yield proc, {"Authorization": f"Bearer {key}"}


async def _send(proc: HubProcess, headers: dict[str, str], title: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{proc.base}/api/notifications",
            json={"user_id": "alice", "category": "c", "title": title, "body": "<b>not html</b>"},
            headers=headers,
        )
        assert r.status_code == 201, r.text


async def _signed_in_page(browser: Any, proc: HubProcess, path: str) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{proc.base}/login?token={make_user_token(SECRET, 'alice')}")
    await page.goto(f"{proc.base}{path}")
    return page


async def test_notification_appears_and_client_reconnects_after_restart(
    browser: Any, served: Any
) -> None:
    proc, headers = served
    page = await _signed_in_page(browser, proc, "/live")
    status = page.locator("#conn-status")
    await page.wait_for_selector("#conn-status[data-state=open]", timeout=20_000)
    assert await status.inner_text() == "Live"

    await _send(proc, headers, "Hello from the API")
    item = page.locator("#live-list li").first
    await item.wait_for(timeout=15_000)
    assert "Hello from the API" in await item.inner_text()
    # data is text, never markup
    assert "<b>not html</b>" in await item.inner_text()
    assert await page.locator("#live-list b").count() == 0
    assert "Hello from the API" in await page.locator("#toasts .toast").first.inner_text()
    assert await page.locator("#bell-badge").inner_text() == "1"
    # the client acks over the socket; the unread count comes back and hides the badge
    nid = int(await item.get_attribute("data-id"))
    assert await page.evaluate(f"window.hubLive.ack({nid}, 'read')") is True
    await page.wait_for_selector("#bell-badge", state="hidden", timeout=15_000)

    await asyncio.to_thread(proc.stop)
    await page.wait_for_selector("#conn-status[data-state=reconnecting]", timeout=20_000)
    await asyncio.to_thread(proc.start)
    await page.wait_for_selector("#conn-status[data-state=open]", timeout=45_000)
    await _send(proc, headers, "After the restart")
    await page.locator("#live-list li", has_text="After the restart").wait_for(timeout=15_000)
    assert page.errors == []


@pytest.mark.parametrize(("transports", "state"), [("sse", "sse"), ("poll", "polling")])
async def test_fallback_transports_deliver(
    browser: Any, served: Any, transports: str, state: str
) -> None:
    proc, headers = served
    page = await _signed_in_page(browser, proc, f"/live?transports={transports}")
    await page.wait_for_selector(f"#conn-status[data-state={state}]", timeout=20_000)
    await _send(proc, headers, f"via {transports}")
    await page.locator("#live-list li", has_text=f"via {transports}").wait_for(timeout=15_000)
    assert page.errors == []


async def test_resync_after_a_memory_restart_fetches_what_was_missed(
    browser: Any, served: Any, hub_processes: list[HubProcess]
) -> None:
    """A memory:// hub forgets its log on restart: the client gets `resync` and fetches
    the notifications it missed through the API (here one written by another process,
    which a memory:// fan-out cannot hear of)."""
    proc, headers = served
    other = HubProcess(dict(proc.env), free_port())
    hub_processes.append(other)
    await asyncio.to_thread(other.start)
    page = await _signed_in_page(browser, proc, "/live")
    await page.wait_for_selector("#conn-status[data-state=open]", timeout=20_000)
    await _send(proc, headers, "Seen live")
    await page.locator("#live-list li", has_text="Seen live").wait_for(timeout=15_000)
    await _send(other, headers, "Written elsewhere")
    await asyncio.sleep(0.5)
    assert await page.locator("#live-list li", has_text="Written elsewhere").count() == 0
    await page.evaluate(
        "window.resynced = false;"
        " document.addEventListener('hub:resync', () => { window.resynced = true; })"
    )
    await asyncio.to_thread(proc.stop)
    await asyncio.to_thread(proc.start)
    for _ in range(450):  # wait_for_function would need eval, which the CSP forbids
        if await page.evaluate("window.resynced"):
            break
        await asyncio.sleep(0.1)
    assert await page.evaluate("window.resynced") is True
    await page.locator("#live-list li", has_text="Written elsewhere").wait_for(timeout=15_000)
    assert await page.locator("#live-list li", has_text="Seen live").count() == 1
    assert page.errors == []
