"""Start of the activity feed: the hub records its own sign-ins.

``hub/auth_api.py`` calls ``app.state.on_login(request, principal)`` after a
session is created (token exchange or login link); signing in as an end user
adds a ``login`` activity. Sessions made from an API key belong to no user
and are not recorded.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request

from hub.activity.track import track
from hub.auth import Principal

log = logging.getLogger("hub.activity")


async def on_login(request: Request, principal: Principal) -> None:
    if not principal.is_user or principal.user_id is None:
        return
    method = "link" if request.url.path == "/login" else "token"
    try:
        await track(
            request.app.state,
            principal.user_id,
            "login",
            "completed",
            "Signed in",
            resource_type="session",
            metadata={"method": method},
            request=request,
        )
    except Exception:
        # the user is signed in either way; a missing feed row must not undo that
        log.exception("could not record the login activity")


async def start(app: Starlette) -> None:
    app.state.on_login = on_login


async def stop(app: Starlette) -> None:
    return None
