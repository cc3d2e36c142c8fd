"""The push channel: a user's devices over real aioapns/pyfcm to the local fakes."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.delivery.device_result import DeviceResult
from hub.delivery.push import PushSender, aggregate, build_sender
from tests.conftest import Hub
from tests.fakes.fixtures import APNsFixture, FCMFixture, apns, delivery, fcm

__all__ = ["apns", "fcm"]

IOS_1, IOS_DEAD = "a1" * 32, "d1" * 32
ANDROID_1, ANDROID_DEAD, WEB_1 = "android:tok-1", "android:tok-dead", "web:tok-1"


async def register(hub: Hub, user: str, platform: str, token: str, **extra: Any) -> None:
    r = await hub.client.post(
        "/api/devices",
        json={"platform": platform, "token": token, **extra},
        headers=hub.user(user),
    )
    assert r.status_code == 201, r.text


async def tokens(hub: Hub, user: str) -> set[str]:
    rows = await hub.db.fetch_all("SELECT token FROM devices WHERE user_id = :u", {"u": user})
    return {r["token"] for r in rows}


async def test_push_to_every_device_and_dead_tokens_removed(
    hub: Hub, apns: APNsFixture, fcm: FCMFixture
) -> None:
    for platform, token in [
        ("ios", IOS_1),
        ("ios", IOS_DEAD),
        ("android", ANDROID_1),
        ("android", ANDROID_DEAD),
        ("web", WEB_1),
    ]:
        await register(hub, "alice", platform, token)
    await register(hub, "bob", "android", "android:bob")
    apns.fake.answers = {IOS_DEAD: (410, "Unregistered")}
    fcm.fake.answers = {ANDROID_DEAD: (404, "UNREGISTERED")}
    sender = PushSender(hub.db, hub.settings.with_(**apns.settings, **fcm.settings))
    try:
        result = await sender.send(delivery(user_id="alice"))
    finally:
        await sender.close()
    assert result.outcome == "sent" and not result.transient, result
    assert result.info == {
        "devices": 5,
        "sent": 3,
        "removed_tokens": 2,
        "errors": ["apns_unregistered", "fcm_unregistered"],
    }
    assert {r.token for r in apns.fake.received} == {IOS_1, IOS_DEAD}
    assert {m["message"]["token"] for m in fcm.fake.received} == {
        ANDROID_1,
        ANDROID_DEAD,
        WEB_1,
    }
    web = next(m["message"] for m in fcm.fake.received if m["message"]["token"] == WEB_1)
    assert "webpush" in web and "android" not in web
    assert await tokens(hub, "alice") == {IOS_1, ANDROID_1, WEB_1}
    assert await tokens(hub, "bob") == {"android:bob"}  # untouched


async def test_all_devices_dead_fails_permanently(hub: Hub, apns: APNsFixture) -> None:
    await register(hub, "alice", "ios", IOS_DEAD)
    apns.fake.answers = {IOS_DEAD: (400, "BadDeviceToken")}
    sender = PushSender(hub.db, hub.settings.with_(**apns.settings))
    try:
        result = await sender.send(delivery(user_id="alice"))
    finally:
        await sender.close()
    assert result.outcome == "failed" and not result.transient
    assert result.error_code == "push_dead_tokens"
    assert await tokens(hub, "alice") == set()


async def test_service_down_is_retried_and_keeps_tokens(hub: Hub, fcm: FCMFixture) -> None:
    await register(hub, "alice", "android", ANDROID_1)
    fcm.fake.answers = {ANDROID_1: (503, "UNAVAILABLE")}
    sender = PushSender(hub.db, hub.settings.with_(**fcm.settings))
    try:
        result = await sender.send(delivery(user_id="alice"))
    finally:
        await sender.close()
    assert result.outcome == "failed" and result.transient
    assert result.error_code == "fcm_unavailable"
    assert await tokens(hub, "alice") == {ANDROID_1}


async def test_no_credentials_or_no_devices_is_suppressed(hub: Hub) -> None:
    sender = build_sender(hub.state)  # the test settings configure no push service
    try:
        none = await sender.send(delivery(user_id="alice"))
        await register(hub, "alice", "ios", IOS_1)
        await register(hub, "alice", "web", WEB_1)
        unconfigured = await sender.send(delivery(user_id="alice"))
    finally:
        await sender.close()
    assert none.outcome == "suppressed" and none.error_code == "no_devices"
    assert unconfigured.outcome == "suppressed" and unconfigured.error_code == "no_credentials"
    assert "ios" in (unconfigured.error or "") and "web" in (unconfigured.error or "")
    assert await tokens(hub, "alice") == {IOS_1, WEB_1}


async def test_ios_without_credentials_does_not_block_android(hub: Hub, fcm: FCMFixture) -> None:
    await register(hub, "alice", "ios", IOS_1)
    await register(hub, "alice", "android", ANDROID_1)
    sender = PushSender(hub.db, hub.settings.with_(**fcm.settings))
    try:
        result = await sender.send(delivery(user_id="alice"))
    finally:
        await sender.close()
    assert result.outcome == "sent" and result.info["sent"] == 1
    assert "errors" not in result.info


def r(platform: str = "android", **kw: Any) -> DeviceResult:
    return DeviceResult("t", platform, **{"ok": False, **kw})


def test_aggregate_rules() -> None:
    assert aggregate([r(ok=True), r(code="x", transient=True)]).outcome == "sent"
    mixed = aggregate([r(code="perm"), r(code="again", transient=True)])
    assert mixed.outcome == "failed" and mixed.transient and mixed.error_code == "again"
    perm = aggregate([r(code="perm", detail="nope"), r(code="dead", dead=True)])
    assert not perm.transient and perm.error_code == "perm" and "2 of 2" in (perm.error or "")
    partial_config = aggregate([r(unconfigured=True), r(code="bad")])
    assert partial_config.outcome == "failed" and partial_config.error_code == "bad"


async def test_concurrent_sends_share_one_device_query(
    hub: Hub, fcm: FCMFixture, monkeypatch
) -> None:
    from hub.devices import store

    for i in range(20):
        await register(hub, f"user{i}", "android", f"android:tok-{i}")
    calls: list[int] = []
    real = store.list_for_users

    async def counting(db, user_ids):
        calls.append(len(user_ids))
        return await real(db, user_ids)

    monkeypatch.setattr(store, "list_for_users", counting)
    sender = PushSender(hub.db, hub.settings.with_(**fcm.settings))
    try:
        results = await asyncio.gather(
            *(sender.send(delivery(id=i, user_id=f"user{i % 25}")) for i in range(40))
        )
    finally:
        await sender.close()
    assert calls == [25]  # one query for all 40 concurrent sends
    assert [r.outcome for r in results].count("sent") == 35  # user20-24 have no device
    assert {r.error_code for r in results if r.outcome != "sent"} == {"no_devices"}
    assert len(fcm.fake.received) == 35


async def test_a_failed_device_query_fails_every_waiting_send(hub: Hub, monkeypatch) -> None:
    from hub.devices import store

    async def broken(db, user_ids):
        raise ConnectionError("database went away")

    monkeypatch.setattr(store, "list_for_users", broken)
    sender = build_sender(hub.state)
    results = await asyncio.gather(
        *(sender.send(delivery(user_id=u)) for u in ("a", "b")), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    await sender.close()


async def test_registry_has_every_channel_of_this_area(hub: Hub) -> None:
    from hub.delivery.senders import build_senders, close_senders

    senders = build_senders(hub.state)
    try:
        for channel in ("push", "webhook", "chat", "sms"):
            assert senders[channel].channel == channel
    finally:
        await close_senders(senders)
