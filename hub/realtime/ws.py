"""The WebSocket endpoint: /ws/notifications and /ws/notifications/{user_id}.

A plain ASGI callable rather than a Starlette WebSocket: with 10,000 idle
connections every object per socket counts, and sends go straight to the
server's ASGI ``send`` (see conn.py).

Query parameters: ``token`` (or subprotocol/cookie, see ws_auth.py),
``last_id`` (resume after this seq), ``unread=1`` (send the unread count
on connect).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from hub.realtime import wire
from hub.realtime.conn import WsConn
from hub.realtime.server import RAW_EXTENSION
from hub.realtime.ws_auth import CLOSE_FORBIDDEN, authenticate_ws

log = logging.getLogger("hub.realtime")

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
MAX_BAD_FRAMES = 20  # consecutive malformed frames before the socket is closed


async def _close(send: Send, code: int, reason: str = "") -> None:
    await send({"type": "websocket.close", "code": code, "reason": reason[:120]})


async def websocket_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    connect = await receive()
    if connect["type"] != "websocket.connect":
        return
    http = HTTPConnection(scope)
    state = http.app.state
    fanout = getattr(state, "fanout", None)
    auth = await authenticate_ws(http)
    # Accept first so the client sees our close code (a refused handshake is
    # only an HTTP 403); nothing but the close frame is sent after it.
    await send({"type": "websocket.accept", "subprotocol": auth.subprotocol})
    if auth.principal is None:
        await _close(send, auth.close_code or 4401, auth.reason)
        return
    principal = auth.principal
    path_user = scope.get("path_params", {}).get("user_id")
    if path_user is not None and path_user != principal.user_id:
        await _close(send, CLOSE_FORBIDDEN, "user id does not match the token")
        return
    if fanout is None or fanout.closing:
        await _close(send, CLOSE_GOING_AWAY, "shutting down")
        return
    try:
        last_id = wire.parse_last_id(http.query_params.get("last_id"))
    except ValueError as exc:
        await send({"type": "websocket.send", "text": wire.error_message("invalid", str(exc))})
        await _close(send, CLOSE_POLICY, "invalid last_id")
        return

    want_unread = http.query_params.get("unread") == "1"
    # nothing of the handshake is needed any more: free it for the socket's lifetime
    del http, auth, connect
    settings = state.settings
    conn = WsConn(
        send,
        asyncio.current_task(),
        raw=scope.get("extensions", {}).get(RAW_EXTENSION),
        user_id=principal.user_id,
        # admin:live carries aggregate analytics only: analysts may follow it too
        is_admin=principal.has("analytics"),
        limit=settings.ws_queue_size,
        stats=fanout.stats,
    )
    channels = {wire.BROADCAST}
    if principal.user_id is not None:
        channels.add(wire.own_channel(principal.user_id))
    else:
        channels.add(wire.ADMIN_LIVE)
    try:
        ready_id = await fanout.attach(conn, channels, last_id)
        conn.send_json(
            {
                "type": "ready",
                "user_id": principal.user_id,
                "last_id": ready_id,
                "channels": sorted(conn.channels),
            }
        )
        if principal.user_id is not None and want_unread:
            await _send_unread(state, conn)
        await _serve(state, fanout, conn, receive, settings.ws_max_frame)
    except asyncio.CancelledError:
        if not conn.evicted:
            raise
        # evicted as a slow client: end quietly, the server drops the socket
    finally:
        fanout.unregister(conn)
        if conn.writer is not None:
            conn.writer.cancel()


class WebSocketApp:
    """The endpoint as an ASGI app, so Starlette passes the raw send through.

    ``__call__`` is the endpoint itself: no extra coroutine frame per socket.
    """

    __call__ = staticmethod(websocket_endpoint)


async def _send_unread(state: Any, conn: WsConn) -> None:
    from hub.notifications import service

    assert conn.user_id is not None
    conn.send_json(
        {"type": "unread_count", "count": await service.unread_count(state, conn.user_id)}
    )


async def _serve(state: Any, fanout: Any, conn: WsConn, receive: Receive, max_frame: int) -> None:
    bad = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if len(data) > max_frame:
                conn.close(CLOSE_POLICY)
                return
            conn.send_json(
                {"type": "error", "code": "binary_frame", "message": "send JSON text frames"}
            )
            bad += 1
        elif len(text) > max_frame:
            # reading it was already too much: close rather than answer
            conn.close(CLOSE_POLICY)
            return
        else:
            try:
                frame = wire.parse_client_frame(text)
            except wire.FrameError as exc:
                conn.send_json({"type": "error", "code": exc.code, "message": exc.message})
                bad += 1
            else:
                bad = 0
                await handle_frame(state, fanout, conn, frame)
        if bad >= MAX_BAD_FRAMES:
            conn.close(CLOSE_POLICY)
            return


async def handle_frame(state: Any, fanout: Any, conn: WsConn, frame: dict[str, Any]) -> None:
    kind = frame["type"]
    if kind == "ping":
        reply: dict[str, Any] = {"type": "pong"}
        if isinstance(frame.get("ts"), int | float):
            reply["ts"] = frame["ts"]
        conn.send_json(reply)
    elif kind == "pong":
        return
    elif kind in ("subscribe", "unsubscribe"):
        channel = frame["channel"]
        if not wire.may_join(channel, conn.user_id, conn.is_admin):
            conn.send_json(
                {
                    "type": "error",
                    "code": "forbidden_channel",
                    "message": f"you may not join {channel}",
                    "channel": channel,
                }
            )
            return
        if kind == "subscribe":
            fanout.join(conn, channel)
        else:
            fanout.leave(conn, channel)
        conn.send_json({"type": f"{kind}d", "channel": channel, "channels": sorted(conn.channels)})
    elif kind == "ack":
        await _ack(state, conn, frame)


async def _ack(state: Any, conn: WsConn, frame: dict[str, Any]) -> None:
    """Do what the HTTP read/click endpoints do; the change is published as usual."""
    from hub.notifications import service, store

    nid, action = frame["id"], frame.get("action", "read")
    if conn.user_id is None:
        conn.send_json(
            {"type": "error", "code": "user_required", "message": "ack is for user connections"}
        )
        return
    if action == "clicked":
        row = await service.click(state, conn.user_id, nid)
    else:
        row = await store.get_for_user(state.db, conn.user_id, nid)
        if row is not None:
            await service.mark_read(state, conn.user_id, [nid])
    if row is None:
        conn.send_json(
            {"type": "error", "code": "not_found", "message": "no such notification", "id": nid}
        )
        return
    conn.send_json({"type": "ack", "id": nid, "action": action, "ok": True})
