"""SSE stream with Last-Event-ID resume, and the admin status/broadcast endpoints."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.hub.realtime.conftest import Live, next_of, nothing_more


def lines_of(resp: httpx.Response) -> Any:
    """One line iterator per response (httpx streams a response only once)."""
    if not hasattr(resp, "_test_lines"):
        resp._test_lines = resp.aiter_lines()  # type: ignore[attr-defined]
    return resp._test_lines  # type: ignore[attr-defined]


async def _events(resp: httpx.Response, n: int) -> list[tuple[str | None, dict[str, Any]]]:
    """The next `n` data events of an SSE response as (id, message)."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    event_id: str | None = None
    lines = lines_of(resp)
    while len(out) < n:
        line = await asyncio.wait_for(lines.__anext__(), 5)
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            out.append((event_id, json.loads(line[6:])))
        elif line == "":
            event_id = None
    return out


async def test_sse_stream_delivers_and_resumes_with_last_event_id(live: Live) -> None:
    headers = live.hub.user("alice")
    async with httpx.AsyncClient(base_url=live.base, timeout=10) as client:
        async with client.stream("GET", "/api/notifications/stream", headers=headers) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            [(_, ready)] = await _events(resp, 1)
            assert ready["type"] == "ready"
            await live.hub.send("alice", title="over SSE")
            await live.hub.send("bob", title="not for alice")
            [(event_id, msg)] = await _events(resp, 1)
            assert msg["type"] == "notification.created"
            assert msg["notification"]["title"] == "over SSE"
            assert event_id == str(msg["seq"])
        await live.hub.send("alice", title="missed")
        resume = {**headers, "Last-Event-ID": event_id}
        async with client.stream("GET", "/api/notifications/stream", headers=resume) as resp:
            (_, first), (_, ready) = await _events(resp, 2)
            assert first["notification"]["title"] == "missed" and ready["type"] == "ready"
        # EventSource cannot send headers: ?token= and ?last_id= work too
        token = live.hub.token("alice")
        url = f"/api/notifications/stream?token={token}&last_id={event_id}"
        async with client.stream("GET", url) as resp:
            [(_, first)] = await _events(resp, 1)
            assert first["notification"]["title"] == "missed"
        r = await client.get("/api/notifications/stream")
        assert r.status_code == 401
        r = await client.get("/api/notifications/stream?last_id=x", headers=headers)
        assert r.status_code == 422 and "last_id" in r.json()["error"]["fields"]
        # an API key is not a user
        r = await client.get("/api/notifications/stream", headers=await live.hub.key("admin"))
        assert r.status_code == 403


async def test_sse_heartbeat_and_eviction(sqlite_live: Live) -> None:
    live = sqlite_live
    async with httpx.AsyncClient(base_url=live.base, timeout=10) as client:
        headers = live.hub.user("alice")
        async with client.stream("GET", "/api/notifications/stream", headers=headers) as resp:
            await _events(resp, 1)
            [conn] = [c for c in live.fanout.conns if c.kind == "sse"]
            conn.heartbeat()
            lines = lines_of(resp)
            line = ""
            while line == "":
                line = await asyncio.wait_for(lines.__anext__(), 5)
            assert line == 'data: {"type":"ping"}'
            conn.evict()
            rest = [line async for line in lines]
            assert all(not line.startswith("data") for line in rest)
    assert live.fanout.stats.dropped_slow == 1


async def test_status_requires_admin_and_counts_connections(sqlite_live: Live) -> None:
    live = sqlite_live
    c = live.hub.client
    assert (await c.get("/api/websocket/status")).status_code == 401
    assert (
        await c.get("/api/websocket/status", headers=await live.hub.key("notify"))
    ).status_code == 403
    assert (await c.get("/api/websocket/status", headers=live.hub.user("alice"))).status_code == 403
    await live.ws_ready("alice")
    await live.ws_ready("alice")
    await live.ws_ready("bob")
    await live.hub.send("alice", title="x")
    admin = await live.hub.key("admin")
    r = await c.get("/api/websocket/status", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backend"] == "memory"
    assert body["process"]["connections"] == 3 and body["process"]["users"] == 2
    assert body["process"]["messages_sent"] >= 3 + 2
    assert body["cluster"]["processes"] == 1 and body["cluster"]["connections"] == 3


async def test_broadcast_to_everyone_a_user_or_admins(sqlite_live: Live) -> None:
    live = sqlite_live
    c = live.hub.client
    admin = await live.hub.key("admin")
    alice, _ = await live.ws_ready("alice")
    bob, _ = await live.ws_ready("bob")
    watcher = await live.ws(headers=admin)
    ready = await next_of(watcher, "ready")
    assert ready["channels"] == ["admin:live", "broadcast"] and ready["user_id"] is None

    r = await c.post(
        "/api/websocket/broadcast", json={"message": {"text": "Maintenance"}}, headers=admin
    )
    assert r.status_code == 202, r.text
    for ws in (alice, bob, watcher):
        msg = await next_of(ws, "broadcast")
        assert msg["text"] == "Maintenance" and "seq" not in msg

    r = await c.post(
        "/api/websocket/broadcast",
        json={"channel": "user:bob", "message": {"type": "notice", "text": "only bob"}},
        headers=admin,
    )
    assert r.status_code == 202
    assert (await next_of(bob, "notice"))["seq"] > 0
    await nothing_more(alice)

    # an analyst's key follows admin:live too (the dashboards' live mode); a producer's not
    analyst = await live.ws(headers=await live.hub.key("analytics"))
    assert (await next_of(analyst, "ready"))["channels"] == ["admin:live", "broadcast"]
    producer = await live.ws(headers=await live.hub.key("notify"))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await producer.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

    await live.fanout.publish_channel("admin:live", {"type": "stats", "n": 1})
    assert (await next_of(watcher, "stats"))["n"] == 1
    assert (await next_of(analyst, "stats"))["n"] == 1
    await nothing_more(alice)
    await nothing_more(bob)

    bad = {
        "channel": {"channel": "secret", "message": {"text": "x"}},
        "message": {"message": "not an object"},
    }
    for field, body in bad.items():
        r = await c.post("/api/websocket/broadcast", json=body, headers=admin)
        assert r.status_code == 422 and field in r.json()["error"]["fields"], r.text
    r = await c.post(
        "/api/websocket/broadcast", json={"message": {"pad": "x" * 20_000}}, headers=admin
    )
    assert r.status_code == 422
    r = await c.post(
        "/api/websocket/broadcast",
        json={"message": {"text": "x"}},
        headers=await live.hub.key("notify"),
    )
    assert r.status_code == 403
