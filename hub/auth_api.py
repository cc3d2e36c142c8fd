"""Sign-in endpoints: exchange a user token (or an API key) for a session cookie."""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.auth import (
    SESSION_COOKIE,
    Principal,
    authenticate,
    check_api_key,
    make_session,
    user_principal,
)
from hub.errors import Invalid, Unauthorized, parse_json

TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|access_token|api_key)=)[^&\s]*", re.I)


class RedactTokens(logging.Filter):
    """Keeps sign-in links (/login?token=...) and ?token= sockets and streams out of
    uvicorn's logs, which give each request's path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if any(isinstance(a, str) and "=" in a for a in args):
                record.args = tuple(
                    TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in args
                )
        elif not args and isinstance(record.msg, str) and "=" in record.msg:
            record.msg = TOKEN_IN_QUERY.sub(r"\1***", record.msg)
        return True


def install_log_redaction() -> None:
    """RedactTokens on the access log and on the error log (WebSocket accept lines)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


install_log_redaction()


def _set_cookie(request: Request, response: Response, principal: Principal) -> str:
    settings = request.app.state.settings
    cookie, csrf = make_session(settings.secret_key, principal)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.token_max_age,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https"),
        path="/",
    )
    return csrf


def _describe(principal: Principal, csrf: str | None) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "user_id": principal.user_id,
        "key_id": principal.key_id,
        "scopes": sorted(principal.scopes),
        "csrf_token": csrf,
    }


async def create_session(request: Request) -> Response:
    """
    summary: Exchange a user token ({"token"}) or an API key ({"api_key"}) for a session cookie
    tags: [auth]
    responses:
      200: {description: signed in; the body holds the CSRF token for unsafe requests}
      401: {description: invalid token or key}
    """
    data = await parse_json(request)
    if not isinstance(data, dict):
        raise Invalid.field("body", "expected a JSON object")
    state = request.app.state
    if isinstance(data.get("token"), str):
        principal = user_principal(state.settings.secret_key, data["token"])
    elif isinstance(data.get("api_key"), str):
        principal = await check_api_key(state.db, data["api_key"], state.settings.api_key_cache_s)
    else:
        raise Invalid.field("token", "give a user token as token, or an API key as api_key")
    response = JSONResponse({})
    csrf = _set_cookie(request, response, principal)
    response.body = response.render(_describe(principal, csrf))
    response.headers["content-length"] = str(len(response.body))
    await _after_login(request, principal)
    return response


async def _after_login(request: Request, principal: Principal) -> None:
    hook = getattr(request.app.state, "on_login", None)
    if hook is not None:
        await hook(request, principal)


async def get_session(request: Request) -> Response:
    """
    summary: Who is signed in, and the CSRF token of the session
    tags: [auth]
    """
    principal = await authenticate(request)
    return JSONResponse(_describe(principal, principal.csrf))


async def logout(request: Request) -> Response:
    """
    summary: Clear the session cookie
    tags: [auth]
    """
    response = JSONResponse({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site; None for //host, schemes and odd characters."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(c in value for c in "\r\n\t "):
        return None
    return value


async def login_link(request: Request) -> Response:
    """
    summary: Sign in from a link (?token=JWT) and go to the notification center
    description: >
      With next=/local/path, goes there instead (local paths only, so the link
      cannot send the user to another site).
    tags: [auth]
    responses:
      303: {description: signed in; redirect}
      401: {description: invalid or expired token}
    """
    token = request.query_params.get("token")
    if not token:
        render = getattr(request.app.state, "render_login", None)
        if render is not None:
            return await render(request)
        raise Unauthorized("add ?token=<user token> to sign in", code="token_required")
    principal = user_principal(request.app.state.settings.secret_key, token)
    target = local_path(request.query_params.get("next")) or "/notifications"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, principal)
    await _after_login(request, principal)
    return response


routes: list[BaseRoute] = [
    Route("/api/auth/session", create_session, methods=["POST"]),
    Route("/api/auth/session", get_session, methods=["GET"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/login", login_link, methods=["GET"]),
]
