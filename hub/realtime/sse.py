"""GET /api/notifications/stream: the same live messages as Server-Sent Events.

For clients that cannot keep a WebSocket (proxies, old browsers). Resume
with the standard ``Last-Event-ID`` header (EventSource sends it by itself
after a reconnect) or ``?last_id=``. Auth: user token (header or ``?token=``,
as EventSource cannot set headers) or the session cookie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from hub.auth import require_user, user_principal
from hub.errors import Invalid, Unavailable
from hub.realtime import wire
from hub.realtime.conn import SseConn

RETRY_MS = 3000  # how long EventSource waits before reconnecting


async def stream(request: Request) -> StreamingResponse:
    """
    summary: Live notifications as Server-Sent Events (same messages as the WebSocket)
    tags: [realtime]
    security: [{userToken: []}, {session: []}]
    parameters:
      - {name: last_id, in: query, schema: {type: integer}, description: resume after this seq}
      - {name: Last-Event-ID, in: header, schema: {type: integer}}
    responses:
      200: {description: "text/event-stream; each event's data is one JSON message, id = seq"}
      401: {description: not signed in}
      422: {description: invalid last_id}
    """
    state = request.app.state
    token = request.query_params.get("token")
    if token:
        principal = user_principal(state.settings.secret_key, token)
    else:
        principal = await require_user(request)
    raw_last = request.headers.get("last-event-id") or request.query_params.get("last_id")
    try:
        last_id = wire.parse_last_id(raw_last)
    except ValueError as exc:
        raise Invalid.field("last_id", str(exc)) from None
    fanout = getattr(state, "fanout", None)
    if fanout is None or fanout.closing:
        raise Unavailable("live updates are not running")
    assert principal.user_id is not None
    user_id = principal.user_id

    async def events() -> AsyncIterator[str]:
        conn = SseConn(
            user_id=user_id, is_admin=False, limit=state.settings.ws_queue_size, stats=fanout.stats
        )
        try:
            yield f"retry: {RETRY_MS}\n\n"
            ready_id = await fanout.attach(
                conn, {wire.BROADCAST, wire.own_channel(user_id)}, last_id
            )
            # after the replay, like the WebSocket
            conn.send_json({"type": "ready", "user_id": user_id, "last_id": ready_id})
            while True:
                chunk = await conn.next_chunk()
                if chunk is None:
                    return
                yield chunk
        finally:
            fanout.unregister(conn)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
