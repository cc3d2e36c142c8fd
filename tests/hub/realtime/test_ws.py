"""/ws/notifications: auth, delivery, isolation, multi-tab, ack, channels, malformed frames."""

from __future__ import annotations

import asyncio
import json

import websockets

from hub.auth import Principal, create_api_key, make_session, make_user_token
from tests.conftest import SECRET
from tests.hub.realtime.conftest import (
    Live,
    close_code,
    collect,
    next_of,
    nothing_more,
    recv_json,
)


async def _rejected(live: Live, code: int, **kw: object) -> None:
    """The socket is closed with `code` and no data frame comes before the close."""
    ws = await websockets.connect(
        f"ws://127.0.0.1:{live.port}{kw.pop('path', '/ws/notifications')}"
        + (f"?{kw.pop('query')}" if "query" in kw else ""),
        open_timeout=5,
        ping_interval=None,
        **kw,  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(ws.recv(), 5)
        raise AssertionError("data was sent before the close")
    except websockets.ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == code, exc


async def test_auth_failures_close_before_any_data(sqlite_live: Live) -> None:
    live = sqlite_live
    await _rejected(live, 4401)
    await _rejected(live, 4401, query="token=not-a-jwt")
    expired = make_user_token(SECRET, "alice", ttl=-10)
    await _rejected(live, 4401, query=f"token={expired}")
    forged = make_user_token("another-secret-of-sufficient-length-123456", "alice")
    await _rejected(live, 4401, query=f"token={forged}")
    # the path id must be the token's subject
    await _rejected(
        live, 4403, path="/ws/notifications/bob", query=f"token={live.hub.token('alice')}"
    )
    # a non-admin API key may not open a live socket
    _, key = await create_api_key(live.hub.db, "p", ["notify"])
    await _rejected(live, 4403, additional_headers={"Authorization": f"Bearer {key}"})
    # a session cookie needs a same-origin Origin (no cross-site socket hijacking)
    cookie, _ = make_session(SECRET, Principal(kind="user", user_id="alice"))
    headers = {"Cookie": f"hub_session={cookie}"}
    await _rejected(live, 4403, additional_headers=headers)
    await _rejected(live, 4403, additional_headers=headers, origin="http://evil.example")
    await _rejected(live, 4401, additional_headers={"Cookie": "hub_session=garbage"})
    assert live.fanout.conns == set()


async def test_token_cookie_and_subprotocol_auth(sqlite_live: Live) -> None:
    live = sqlite_live
    cookie, _ = make_session(SECRET, Principal(kind="user", user_id="alice"))
    origin = f"http://127.0.0.1:{live.port}"
    ws = await websockets.connect(
        f"ws://127.0.0.1:{live.port}/ws/notifications",
        additional_headers={"Cookie": f"hub_session={cookie}"},
        origin=origin,  # type: ignore[arg-type]
        ping_interval=None,
    )
    ready = await next_of(ws, "ready")
    assert ready["user_id"] == "alice"
    assert ready["channels"] == ["broadcast", "user:alice"]
    await ws.close()

    token = live.hub.token("bob")
    ws = await websockets.connect(
        f"ws://127.0.0.1:{live.port}/ws/notifications/bob",
        subprotocols=["bearer", token],  # type: ignore[list-item]
        ping_interval=None,
    )
    assert ws.subprotocol == "bearer"
    assert (await next_of(ws, "ready"))["user_id"] == "bob"
    await ws.close()


async def test_notification_reaches_all_tabs_of_its_user_only(live: Live) -> None:
    tab1, _ = await live.ws_ready("alice")
    tab2, _ = await live.ws_ready("alice")
    bob, _ = await live.ws_ready("bob")
    sent = await live.hub.send("alice", title="For Alice")
    nid = sent["ids"][0]
    for tab in (tab1, tab2):
        msg = await next_of(tab, "notification.created")
        assert msg["notification"]["id"] == nid
        assert msg["notification"]["title"] == "For Alice"
        assert isinstance(msg["seq"], int)
    await live.hub.send("bob", title="For Bob")
    got = await next_of(bob, "notification.created")
    assert got["notification"]["title"] == "For Bob"
    await nothing_more(bob)
    await nothing_more(tab1)


async def test_ack_marks_read_and_clicks_like_the_http_endpoints(live: Live) -> None:
    ws, _ = await live.ws_ready("alice", unread=1)
    assert (await next_of(ws, "unread_count"))["count"] == 0
    ids = (await live.hub.send("alice", title="one"))["ids"] + (
        await live.hub.send("alice", title="two")
    )["ids"]
    other = (await live.hub.send("bob", title="not yours"))["ids"][0]
    await collect(ws, "notification.created")
    await ws.send(json.dumps({"type": "ack", "id": ids[0], "action": "read"}))
    # the reply and the published change may come in either order
    got = await collect(ws, "notification.updated", "unread_count", "ack")
    updated = got["notification.updated"]
    assert updated["notification"]["id"] == ids[0] and updated["notification"]["is_read"]
    assert got["unread_count"]["count"] == 2 - 1
    assert got["ack"]["id"] == ids[0]
    await ws.send(json.dumps({"type": "ack", "id": ids[1], "action": "clicked"}))
    got = await collect(ws, "ack", "unread_count")
    assert got["ack"]["action"] == "clicked" and got["unread_count"]["count"] == 0
    row = await live.hub.db.fetch_one(
        "SELECT is_read, clicked_at FROM notifications WHERE id = :id", {"id": ids[1]}
    )
    assert row is not None and row["is_read"] and row["clicked_at"] is not None
    # another user's notification is not found and stays unread
    await ws.send(json.dumps({"type": "ack", "id": other, "action": "read"}))
    err = await next_of(ws, "error")
    assert err["code"] == "not_found"
    await ws.send(json.dumps({"type": "ack", "id": other, "action": "clicked"}))
    assert (await next_of(ws, "error"))["code"] == "not_found"
    assert not await live.hub.db.fetch_val(
        "SELECT is_read FROM notifications WHERE id = :id", {"id": other}
    )


async def test_malformed_frames_get_errors_and_never_affect_others(sqlite_live: Live) -> None:
    live = sqlite_live
    ws, _ = await live.ws_ready("alice")
    bystander, _ = await live.ws_ready("bob")
    cases = {
        "not json": "invalid_json",
        "[1, 2]": "invalid_frame",
        '{"type": "launch"}': "unknown_type",
        '{"type": "ack", "id": "x"}': "invalid_frame",
        '{"type": "ack", "id": 1, "action": "eat"}': "invalid_frame",
        '{"type": "subscribe"}': "invalid_frame",
        '{"type": "subscribe", "channel": "admin:live"}': "forbidden_channel",
        '{"type": "subscribe", "channel": "user:bob"}': "forbidden_channel",
    }
    for frame, code in cases.items():
        await ws.send(frame)
        assert (await next_of(ws, "error"))["code"] == code, frame
    await ws.send(b"\x00\x01")
    assert (await next_of(ws, "error"))["code"] == "binary_frame"
    await ws.send(json.dumps({"type": "ping", "ts": 5}))
    assert await next_of(ws, "pong") == {"type": "pong", "ts": 5}
    # oversized: closed with 1008
    await ws.send(json.dumps({"type": "ping", "pad": "x" * (live.hub.settings.ws_max_frame + 1)}))
    assert await close_code(ws) == 1008
    # a flood of garbage is cut off too
    flood, _ = await live.ws_ready("carol")
    for _ in range(25):
        try:
            await flood.send("}")
        except websockets.ConnectionClosed:
            break
    assert await close_code(flood) == 1008
    # the bystander still works
    await live.hub.send("bob", title="still here")
    assert (await next_of(bystander, "notification.created"))["notification"]["title"] == (
        "still here"
    )


async def test_subscribe_and_unsubscribe_broadcast(sqlite_live: Live) -> None:
    live = sqlite_live
    ws, _ = await live.ws_ready("alice")
    await ws.send(json.dumps({"type": "unsubscribe", "channel": "broadcast"}))
    assert (await next_of(ws, "unsubscribed"))["channels"] == ["user:alice"]
    await live.fanout.publish_channel("broadcast", {"type": "broadcast", "text": "hi"})
    await nothing_more(ws)
    await ws.send(json.dumps({"type": "subscribe", "channel": "broadcast"}))
    assert (await next_of(ws, "subscribed"))["channel"] == "broadcast"
    await live.fanout.publish_channel("broadcast", {"type": "broadcast", "text": "again"})
    assert (await next_of(ws, "broadcast"))["text"] == "again"
    # leaving the own channel stops the user's stream
    await ws.send(json.dumps({"type": "unsubscribe", "channel": "user:alice"}))
    await next_of(ws, "unsubscribed")
    await live.hub.send("alice", title="muted")
    await nothing_more(ws)


async def test_app_ping_and_ready_last_id(sqlite_live: Live) -> None:
    live = sqlite_live
    await live.hub.send("alice", title="before")
    ws = await live.ws("alice")
    ready = await recv_json(ws)
    assert ready["type"] == "ready" and ready["last_id"] > 0
    for conn in tuple(live.fanout.conns):
        conn.heartbeat()
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "ping"}
    # full collections are counted and timed for the status
    import gc

    gc.collect()
    assert live.fanout.stats.gc_full >= 1 and live.fanout.stats.gc_max_pause_ms >= 0


async def test_tokens_in_query_strings_never_reach_the_logs(sqlite_live: Live) -> None:
    import logging

    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("uvicorn.error")
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        token = sqlite_live.hub.token("alice")
        ws, _ = await sqlite_live.ws_ready("alice", last_id=0)
        await ws.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    accepted = [r for r in records if "WebSocket" in r]
    assert accepted and all("token=***" in r for r in accepted), records
    assert not any(token in r for r in records)
