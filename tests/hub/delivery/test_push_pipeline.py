"""End to end: producer API → planner → delivery queue → worker → push/webhook/chat/SMS fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Hub, make_settings, start_hub
from tests.fakes.fixtures import APNsFixture, FCMFixture, apns, fcm
from tests.fakes.receivers import SECRET, Endpoint, Receiver, endpoint, receiver

__all__ = ["apns", "fcm", "endpoint", "receiver"]

IOS, ANDROID = "c0" * 32, "android:pipeline-1"


@pytest.fixture
async def push_hub(
    db_url: str,
    tmp_path: Path,
    apns: APNsFixture,
    fcm: FCMFixture,
    endpoint: Endpoint,
) -> AsyncIterator[Hub]:
    settings = make_settings(
        db_url,
        tmp_path,
        webhook_secret=SECRET,
        sms_url=f"json://{endpoint.host}/sms?:to={{phone}}",
        delivery_backoff_base=0.001,
        delivery_backoff_max=0.002,
        **apns.settings,
        **fcm.settings,
    )
    async for h in start_hub(settings):
        yield h


async def drain(hub: Hub) -> int:
    from hub.delivery.worker import Worker

    worker = Worker(hub.state, hub.state.senders)
    total = 0
    for _ in range(10):
        n = await worker.run_once()
        total += n
        if not n:
            break
    return total


async def statuses(hub: Hub) -> dict[str, Any]:
    rows = await hub.db.fetch_all("SELECT channel, status, error_code FROM deliveries")
    return {r["channel"]: (r["status"], r["error_code"]) for r in rows}


async def test_notification_reaches_every_channel(
    push_hub: Hub, apns: APNsFixture, fcm: FCMFixture, endpoint: Endpoint, receiver: Receiver
) -> None:
    hub = push_hub
    alice = hub.user("alice")
    for platform, token in (("ios", IOS), ("android", ANDROID)):
        r = await hub.client.post(
            "/api/devices", json={"platform": platform, "token": token}, headers=alice
        )
        assert r.status_code == 201
    key = await hub.key("notify")
    r = await hub.client.put(
        "/api/users/alice",
        json={
            "phone": "+14155550100",
            "webhook_url": f"{receiver.url}/alice",
            "chat_url": f"json://{endpoint.host}/chat",
        },
        headers=key,
    )
    assert r.status_code == 200, r.text
    r = await hub.client.put(
        "/api/notifications/preferences",
        json=[
            {
                "category": "*",  # every category
                "delivery_methods": ["in_app", "push", "webhook", "chat", "sms"],
            }
        ],
        headers=alice,
    )
    assert r.status_code == 200, r.text
    sent = await hub.send("alice", title="Your code", body="123456")
    assert await drain(hub) == 4
    assert await statuses(hub) == {
        "push": ("sent", None),
        "webhook": ("delivered", None),
        "chat": ("sent", None),
        "sms": ("sent", None),
    }
    assert [r.token for r in apns.fake.received] == [IOS]
    assert apns.fake.received[0].payload["aps"]["alert"]["title"] == "Your code"
    assert [m["message"]["token"] for m in fcm.fake.received] == [ANDROID]
    [hook] = receiver.got
    assert hook["ok"] and hook["json"]["notification_id"] == sent["ids"][0]
    paths = sorted(g["path"] for g in endpoint.got)
    assert paths == ["/chat", "/sms"]
    sms = next(g for g in endpoint.got if g["path"] == "/sms")
    assert sms["body"]["to"] == "+14155550100"
    events = await hub.db.fetch_all(
        "SELECT event, channel FROM outbox WHERE event <> 'created' ORDER BY channel"
    )
    assert {(e["event"], e["channel"]) for e in events} == {
        ("sent", "push"),
        ("delivered", "webhook"),
        ("sent", "chat"),
        ("sent", "sms"),
    }


async def test_dead_tokens_removed_through_the_queue(
    push_hub: Hub, apns: APNsFixture, fcm: FCMFixture
) -> None:
    hub = push_hub
    alice = hub.user("alice")
    for platform, token in (("ios", IOS), ("android", ANDROID)):
        await hub.client.post(
            "/api/devices", json={"platform": platform, "token": token}, headers=alice
        )
    apns.fake.answers = {IOS: (410, "Unregistered")}
    fcm.fake.answers = {ANDROID: (404, "UNREGISTERED")}
    await hub.send("alice")
    await drain(hub)
    assert (await statuses(hub))["push"] == ("failed", "push_dead_tokens")
    assert (await hub.client.get("/api/devices", headers=alice)).json()["devices"] == []
    # with no devices left, the planner stops queueing push for alice
    await hub.send("alice")
    rows = await hub.db.fetch_all("SELECT channel FROM deliveries WHERE channel = 'push'")
    assert len(rows) == 1
