"""Page routes: the notification center, preferences, activity, sign-in and error pages.

Pages are server-rendered shells (Jinja2, autoescaped); the data arrives
through the JSON API from plain JS modules in web/static/js. Everything a
script needs (CSRF token, user id, API paths) is put in data- attributes and
<meta> tags, because the Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from hub.auth import SESSION_COOKIE, Principal, authenticate, origin_matches
from hub.delivery.base import CHANNELS
from hub.errors import HubError
from hub.preferences.routing import FREQUENCIES

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


METHOD_LABELS = {
    "in_app": "In the app",
    "email": "Email",
    "push": "Push",
    "sms": "SMS",
    "webhook": "Webhook",
    "chat": "Chat",
}


def is_end_user(principal: Principal | None) -> bool:
    """A signed-in end user (not an API key or a session made from one)."""
    return principal is not None and principal.is_user


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str


def nav_for(principal: Principal | None) -> list[NavItem]:
    """The pages this principal may open, in header order."""
    if principal is None:
        return []
    items: list[NavItem] = []
    if is_end_user(principal):
        items += [
            NavItem("/notifications", "Notifications"),
            NavItem("/preferences", "Preferences"),
            NavItem("/activity", "Activity"),
        ]
    if principal.has("analytics"):
        items.append(NavItem("/dashboards", "Dashboards"))
    if principal.is_admin:
        items.append(NavItem("/admin/sql", "SQL console"))
    return items


def home_for(principal: Principal) -> str:
    nav = nav_for(principal)
    return nav[0].path if nav else "/login"


def safe_next(value: str | None) -> str | None:
    """A local path to return to after sign-in; anything else (//host, schemes) is dropped."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(c in value for c in "\r\n\t "):
        return None
    return value


async def current_principal(request: Request) -> Principal | None:
    try:
        return await authenticate(request)
    except HubError:
        return None


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    ctx = {
        "title": title,
        "principal": principal,
        "is_user": is_end_user(principal),
        "nav": nav_for(principal),
        "active": request.url.path,
        "csrf": (principal.csrf if principal else None) or "",
        **context,
    }
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    # pages carry a CSRF token and personal data: never cache them in shared caches
    response.headers["cache-control"] = "no-store"
    return response


def forbidden(request: Request, principal: Principal | None, reason: str) -> Response:
    return render(
        request, "forbidden.html", principal, title="Not allowed", status_code=403, reason=reason
    )


def to_login(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)


async def page_for(
    request: Request, template: str, title: str, *, need: str = "user", **context: Any
) -> Response:
    """Render `template` if the caller may see it: need is "user", "analytics" or "admin"."""
    principal = await current_principal(request)
    if principal is None:
        return to_login(request)
    if need == "user" and not is_end_user(principal):
        return forbidden(
            request, principal, "This page is for end users; you are signed in with an API key."
        )
    if need != "user" and not principal.has(need):
        return forbidden(request, principal, f"This page needs the {need} scope.")
    return render(request, template, principal, title=title, **context)


async def render_login(request: Request) -> Response:
    """The sign-in form (GET /login without ?token=), set as app.state.render_login."""
    principal = await current_principal(request)
    return render(
        request,
        "login.html",
        principal,
        title="Sign in",
        next=safe_next(request.query_params.get("next")) or "",
    )


async def home(request: Request) -> Response:
    """
    summary: Go to the first page the caller may open (or to sign-in)
    tags: [web]
    responses:
      303: {description: redirect}
    """
    principal = await current_principal(request)
    return RedirectResponse(home_for(principal) if principal else "/login", status_code=303)


async def notifications_page(request: Request) -> Response:
    """
    summary: The notification center page
    tags: [web]
    responses:
      200: {description: HTML page}
      303: {description: not signed in, sent to /login}
    """
    return await page_for(request, "notifications.html", "Notifications")


async def preferences_page(request: Request) -> Response:
    """
    summary: Notification preferences and devices page
    tags: [web]
    responses:
      200: {description: HTML page}
      303: {description: not signed in, sent to /login}
    """
    return await page_for(
        request,
        "preferences.html",
        "Preferences",
        methods=CHANNELS,
        method_labels=METHOD_LABELS,
        frequencies=FREQUENCIES,
    )


async def activity_page(request: Request) -> Response:
    """
    summary: The activity feed page
    tags: [web]
    responses:
      200: {description: HTML page}
      303: {description: not signed in, sent to /login}
    """
    return await page_for(request, "activity.html", "Activity")


async def admin_sql_page(request: Request) -> Response:
    """
    summary: The admin SQL console (admin scope)
    tags: [web]
    responses:
      200: {description: HTML page}
      303: {description: not signed in, sent to /login}
      403: {description: not an admin}
    """
    return await page_for(request, "admin_sql.html", "SQL console", need="admin")


async def logout_page(request: Request) -> Response:
    """
    summary: Sign out from a page (a plain form post, works before any script runs)
    tags: [web]
    responses:
      303: {description: cookie cleared, sent to /login}
    """
    principal = await current_principal(request)
    if principal is not None and principal.via_cookie:
        form = await request.form()
        sent = str(form.get("csrf") or "")
        if not (principal.csrf and hmac.compare_digest(sent, principal.csrf)):
            if not origin_matches(request):
                return forbidden(
                    request, principal, "The sign-out form had expired. Reload and try again."
                )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/notifications", notifications_page, methods=["GET"]),
    Route("/preferences", preferences_page, methods=["GET"]),
    Route("/activity", activity_page, methods=["GET"]),
    Route("/admin/sql", admin_sql_page, methods=["GET"]),
    Route("/logout", logout_page, methods=["POST"]),
]
