"""The webhook channel against a local HTTP server that verifies the signature."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hub.delivery.webhook import WebhookSender, build_sender, signing_secret, verify
from hub.settings import Settings
from tests.fakes.fixtures import delivery
from tests.fakes.receivers import SECRET, Receiver, receiver

__all__ = ["receiver"]


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
