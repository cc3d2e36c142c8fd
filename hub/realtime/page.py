"""GET /live: a minimal page that runs the browser client (for users and for tests)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.auth import SESSION_COOKIE, read_session
from hub.web import templates

TRANSPORTS = ("ws", "sse", "poll")


async def live_page(request: Request) -> Response:
    """
    summary: A minimal live page (connection status, unread badge, toasts) for the signed-in user
    tags: [realtime]
    security: [{session: []}]
    parameters:
      - {name: transports, in: query, schema: {type: string}, description: "e.g. sse,poll"}
    responses:
      200: {description: the page}
      303: {description: not signed in; redirects to /login}
    """
    settings = request.app.state.settings
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = (
        read_session(settings.secret_key, cookie, settings.token_max_age) if cookie else None
    )
    if principal is None or not principal.is_user:
        return RedirectResponse("/login", status_code=303)
    # ?transports=sse,poll forces the fallbacks (to try them, or behind a hostile proxy)
    wanted = request.query_params.get("transports", "")
    transports = ",".join(t for t in wanted.split(",") if t in TRANSPORTS)
    return templates.TemplateResponse(
        request,
        "live.html",
        {
            "user_id": principal.user_id,
            "ping_interval": settings.ws_ping_interval,
            "transports": transports,
        },
        headers={"Cache-Control": "no-store"},
    )
