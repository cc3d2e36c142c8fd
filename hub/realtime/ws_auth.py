"""Who is opening a WebSocket (or SSE stream), decided before any data is sent.

A user token may come as ``?token=``, as a ``Sec-WebSocket-Protocol`` entry
(browsers cannot set headers on a WebSocket: ``new WebSocket(url, ["bearer",
token])``) or as ``Authorization: Bearer``. The session cookie is accepted
only with a same-origin ``Origin``, which stops other sites from opening a
socket with the user's cookie. Admins and analysts connect with an admin or
analytics API key (header, subprotocol, or an API-key session) to follow
``admin:live``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from hub.auth import (
    SESSION_COOKIE,
    Principal,
    bearer,
    origin_matches,
    principal_from_token,
    read_session,
)
from hub.errors import HubError

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


@dataclass(frozen=True)
class WsAuth:
    principal: Principal | None
    subprotocol: str | None  # to echo in the handshake, or the browser fails it
    close_code: int | None = None
    reason: str = ""


def _token_from_subprotocols(offered: list[str]) -> tuple[str | None, str | None]:
    """(token, subprotocol to accept) from the offered subprotocols."""
    token = next(
        (p for p in offered if p.count(".") == 2 or p.startswith("hub_k_")),
        None,
    )
    if token is None:
        return None, offered[0] if offered else None
    return token, ("bearer" if "bearer" in offered else token)


async def authenticate_ws(conn: HTTPConnection) -> WsAuth:
    state = conn.app.state
    settings = state.settings
    offered = list(conn.scope.get("subprotocols") or [])
    sub_token, subprotocol = _token_from_subprotocols(offered)
    token = conn.query_params.get("token") or sub_token or bearer(conn)
    try:
        if token:
            principal = await principal_from_token(state, token)
        else:
            cookie = conn.cookies.get(SESSION_COOKIE)
            session = (
                read_session(settings.secret_key, cookie, settings.token_max_age)
                if cookie
                else None
            )
            if session is None:
                return WsAuth(None, subprotocol, CLOSE_UNAUTHORIZED, "authentication required")
            if not origin_matches(conn):
                return WsAuth(None, subprotocol, CLOSE_FORBIDDEN, "origin not allowed")
            principal = session
    except HubError as exc:
        return WsAuth(None, subprotocol, CLOSE_UNAUTHORIZED, exc.code)
    # an API key follows admin:live only: aggregate figures for admins and the
    # analysts whose dashboards refresh from it
    if principal.kind != "user" and not principal.has("analytics"):
        return WsAuth(
            None, subprotocol, CLOSE_FORBIDDEN, "an API key needs the admin or analytics scope"
        )
    if principal.kind == "user" and not principal.is_user:
        return WsAuth(None, subprotocol, CLOSE_UNAUTHORIZED, "invalid session")
    return WsAuth(principal, subprotocol)
