"""The webhook channel against a local HTTP server that verifies the signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from hub.delivery.webhook import WebhookSender, build_sender, signing_secret, verify
from hub.settings import Settings
from tests.fakes.fixtures import delivery

SECRET = "whsec_test_0123456789"


def receiver_check(secret: str, headers: Any, body: bytes) -> bool:
    """The README's verification snippet, written independently of the sender."""
    timestamp = headers["X-Hub-Timestamp"]
    expected = (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, headers["X-Hub-Signature"])


class Receiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.got: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = receiver_check(self.secret, request.headers, body)
        self.got.append(
            {
                "path": request.path,
                "ok": ok,
                "headers": dict(request.headers),
                "json": json.loads(body),
            }
        )
        if not ok:
            return web.Response(status=401)
        status = int(request.query.get("status", "204"))
        if request.query.get("sleep"):
            await asyncio.sleep(float(request.query["sleep"]))
        if status in (301, 302):
            return web.Response(status=status, headers={"Location": "/elsewhere"})
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(SECRET)
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield rec
    await runner.cleanup()


def sender(**overrides: Any) -> WebhookSender:
    values: dict[str, Any] = {"secret_key": "app-secret", "webhook_secret": SECRET}
    values.update(overrides)
    return WebhookSender(Settings(**values), timeout=0.5)


async def test_signed_post_is_delivered_and_verifiable(receiver: Receiver) -> None:
    s = sender()
    try:
        result = await s.send(delivery(id=42, address=f"{receiver.url}/hooks/alice", attempts=2))
    finally:
        await s.close()
    assert result.outcome == "delivered" and result.info == {"status": 204}
    [got] = receiver.got
    assert got["ok"] and got["path"] == "/hooks/alice"
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["X-Hub-Delivery"] == "42"
    assert got["json"] == {
        "type": "notification",
        "delivery_id": 42,
        "notification_id": 10,
        "user_id": "alice",
        "category": "billing",
        "title": "Paid",
        "body": "Thanks for your payment",
        "link": "/billing/1",
        "priority": "normal",
        "data": {"amount": 5},
        "attempt": 3,
    }


async def test_app_wide_url_and_wrong_secret(receiver: Receiver) -> None:
    s = sender(webhook_url=f"{receiver.url}/app", webhook_secret="someone-else")
    try:
        result = await s.send(delivery())
    finally:
        await s.close()
    # the receiver refuses a signature made with another secret: 401, not retried
    assert receiver.got[0]["path"] == "/app" and not receiver.got[0]["ok"]
    assert result.outcome == "failed" and not result.transient
    assert result.error_code == "webhook_401"


@pytest.mark.parametrize(
    ("query", "outcome", "transient", "code"),
    [
        ("status=200", "delivered", False, None),
        ("status=500", "failed", True, "webhook_500"),
        ("status=503", "failed", True, "webhook_503"),
        ("status=429", "failed", True, "webhook_429"),
        ("status=404", "failed", False, "webhook_404"),
        ("status=302", "failed", False, "webhook_redirect"),
        ("sleep=1", "failed", True, "webhook_timeout"),
    ],
)
async def test_answers_map_to_outcomes(
    receiver: Receiver, query: str, outcome: str, transient: bool, code: str | None
) -> None:
    s = sender()
    try:
        result = await s.send(delivery(address=f"{receiver.url}/h?{query}"))
    finally:
        await s.close()
    assert (result.outcome, result.transient, result.error_code) == (outcome, transient, code)


async def test_bad_urls_and_missing_address() -> None:
    s = sender()
    try:
        for url in ["file:///etc/passwd", "ftp://x/y", "javascript:alert(1)", "http:///nohost"]:
            result = await s.send(delivery(address=url))
            assert result.outcome == "failed" and not result.transient, url
            assert result.error_code == "webhook_bad_url"
        none = await s.send(delivery(address=None))
        assert none.outcome == "suppressed" and none.error_code == "no_address"
        down = await s.send(delivery(address="http://127.0.0.1:9/"))
        assert down.transient and down.error_code == "webhook_connection"
    finally:
        await s.close()


def test_signing_secret_is_derived_not_the_secret_key() -> None:
    derived = signing_secret(Settings(secret_key="app-secret"))
    assert derived != "app-secret" and len(derived) == 64
    assert signing_secret(Settings(secret_key="app-secret")) == derived
    assert signing_secret(Settings(secret_key="other")) != derived
    assert signing_secret(Settings(secret_key="x", webhook_secret=SECRET)) == SECRET


def test_verify_helper() -> None:
    from hub.delivery.webhook import sign

    now = time.time()
    ts = str(int(now))
    sig = sign(SECRET, ts, b"{}")
    assert verify(SECRET, ts, b"{}", sig, now=now)
    assert not verify(SECRET, ts, b"{ }", sig, now=now)
    assert not verify(SECRET, ts, b"{}", sig, now=now + 301)
    assert not verify(SECRET, "soon", b"{}", sig)


async def test_build_sender_uses_app_settings(sqlite_hub) -> None:
    s = build_sender(sqlite_hub.state)
    assert s.secret == signing_secret(sqlite_hub.settings)
    await s.close()
