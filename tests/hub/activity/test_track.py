"""The hub's own activities: track(), sign-ins, API key use."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from hub.activity.track import track, track_api_key_use
from hub.auth import create_api_key
from hub.errors import Invalid
from tests.conftest import Hub


def fake_request(ip: str = "198.51.100.7", agent: str = "Firefox/130") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(b"user-agent", agent.encode())],
        "client": (ip, 5555),
        "query_string": b"",
    }
    return Request(scope)


async def test_track_records_and_publishes_after_the_write(hub: Hub, fanout: Any) -> None:
    seen_in_db: list[int] = []

    async def publish_many(messages: list[tuple[str, dict[str, Any]]]) -> None:
        # the row must already be committed and readable when the live message goes out
        for _, m in messages:
            seen_in_db.append(
                await hub.db.fetch_val(
                    "SELECT COUNT(*) FROM activities WHERE id = :i", {"i": m["activity"]["id"]}
                )
            )
        fanout.messages.extend(messages)

    fanout.publish_many = publish_many
    a = await track(
        hub.state,
        "alice",
        "settings",
        "updated",
        "Email notifications turned off",
        resource_type="preferences",
        resource_id="email",
        metadata={"email": False},
        request=fake_request(),
    )
    assert a["activity_type"] == "settings" and a["resource_id"] == "email"
    assert a["ip_address"] == "198.51.100.7" and a["user_agent"] == "Firefox/130"
    assert fanout.messages == [("alice", {"type": "activity.created", "activity": a})]
    assert seen_in_db == [1]
    got = await hub.client.get(f"/api/activities/{a['id']}", headers=hub.user("alice"))
    assert got.json() == a


async def test_track_without_request_or_fanout_still_records(hub: Hub) -> None:
    hub.state.fanout = None
    a = await track(hub.state, "bob", "device", "created", "New device", status="pending")
    assert a["ip_address"] is None and a["status"] == "pending"
    odd = await track(hub.state, "bob", "x", "created", "t" * 500, request=fake_request("tc"))
    assert len(odd["title"]) == 200 and odd["ip_address"] is None


async def test_track_rejects_what_the_api_would(hub: Hub) -> None:
    with pytest.raises(Invalid) as err:
        await track(hub.state, "alice", "Bad Type", "created", "t")
    assert "activity_type" in err.value.fields
    with pytest.raises(Invalid):
        await track(hub.state, "alice", "login", "exploded", "t")


async def test_sign_in_with_a_token_records_a_login(hub: Hub, fanout: Any) -> None:
    r = await hub.client.post(
        "/api/auth/session",
        json={"token": hub.token("alice")},
        headers={"User-Agent": "Mozilla/5.0 test"},
    )
    assert r.status_code == 200, r.text
    items = (await hub.client.get("/api/activities", headers=hub.user("alice"))).json()["items"]
    assert len(items) == 1
    login = items[0]
    assert login["activity_type"] == "login" and login["action"] == "completed"
    assert login["resource_type"] == "session" and login["metadata"] == {"method": "token"}
    assert login["user_agent"] == "Mozilla/5.0 test"
    assert [m["type"] for _, m in fanout.messages] == ["activity.created"]


async def test_login_link_records_a_login_and_key_sessions_do_not(hub: Hub) -> None:
    r = await hub.client.get("/login", params={"token": hub.token("carol")})
    assert r.status_code == 303
    items = (await hub.client.get("/api/activities", headers=hub.user("carol"))).json()["items"]
    assert [(a["activity_type"], a["metadata"]) for a in items] == [("login", {"method": "link"})]
    _, key = await create_api_key(hub.db, "admin", ["admin"])
    hub.client.cookies.clear()
    assert (await hub.client.post("/api/auth/session", json={"api_key": key})).status_code == 200
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 1


async def test_a_failing_fanout_neither_blocks_sign_in_nor_loses_the_activity(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        async def publish_many(self, messages: Any) -> None:
            raise RuntimeError("fan-out down")

    original = getattr(hub.state, "fanout", None)
    hub.state.fanout = Broken()
    try:
        r = await hub.client.post("/api/auth/session", json={"token": hub.token("dave")})
        assert r.status_code == 200
        a = await track(hub.state, "dave", "settings", "updated", "Changed")
        assert a["id"]
    finally:
        hub.state.fanout = original
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities WHERE user_id = 'dave'") == 2
    assert "could not publish" in caplog.text


async def test_a_failing_feed_write_does_not_block_sign_in(
    hub: Hub, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("hub.activity.component.track", failing)
    r = await hub.client.post("/api/auth/session", json={"token": hub.token("erin")})
    assert r.status_code == 200
    assert "could not record the login activity" in caplog.text


async def test_api_key_use_is_recorded_at_most_hourly_per_key_and_user(hub: Hub) -> None:
    first = await track_api_key_use(hub.state, "k_1", "alice", "changed email settings")
    assert first is not None and first["activity_type"] == "api_key"
    assert first["resource_type"] == "api_key" and first["resource_id"] == "k_1"
    assert await track_api_key_use(hub.state, "k_1", "alice", "again") is None
    assert await track_api_key_use(hub.state, "k_2", "alice", "other key") is not None
    assert await track_api_key_use(hub.state, "k_1", "bob", "other user") is not None
    await hub.db.execute("UPDATE activities SET created_at = created_at - 3700000")
    assert await track_api_key_use(hub.state, "k_1", "alice", "an hour later") is not None
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 4
