"""Page routes and security headers, through the ASGI app (no browser)."""

from __future__ import annotations

import re

import pytest

from hub.auth import Principal
from hub.security import CHART_CSP, CSP, add_headers, csp_for
from hub.web import nav_for, safe_next
from tests.conftest import Hub

USER_PAGES = ("/notifications", "/preferences", "/activity")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.I)


async def test_user_pages_for_a_signed_in_user(hub: Hub) -> None:
    cookie_login = await hub.client.get(f"/login?token={hub.token('alice')}")
    assert cookie_login.status_code == 303
    for path in USER_PAGES:
        r = await hub.client.get(path)
        assert r.status_code == 200, (path, r.text)
        html = r.text
        assert 'data-user="alice"' in html
        assert 'aria-current="page"' in html
        # the session's CSRF token is handed to the scripts in a meta tag
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
        assert token and len(token.group(1)) > 20
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_HANDLER.search(html), path
        assert not INLINE_STYLE.search(html), path
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-security-policy"] == CSP
    # an end user gets no links to analyst or admin pages
    assert "/dashboards" not in html and "/admin/sql" not in html


async def test_pages_are_in_the_openapi_document(sqlite_hub: Hub) -> None:
    paths = (await sqlite_hub.client.get("/openapi.json")).json()["paths"]
    for path in (*USER_PAGES, "/dashboards", "/admin/sql", "/logout", "/api/dashboards/data"):
        assert path in paths, path


async def test_not_signed_in_goes_to_login_with_the_way_back(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/activity?status=failed")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/activity%3Fstatus%3Dfailed"
    r = await sqlite_hub.client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_login_form_keeps_only_local_next(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/login", params={"next": "/preferences"})
    assert r.status_code == 200
    assert 'data-next="/preferences"' in r.text
    assert 'id="login-secret"' in r.text and '<label for="login-secret">' in r.text
    r = await sqlite_hub.client.get("/login", params={"next": "//evil.example/x"})
    assert 'data-next=""' in r.text


async def test_api_key_sessions_see_only_their_pages(sqlite_hub: Hub) -> None:
    client = sqlite_hub.client
    analytics = (await sqlite_hub.key("analytics"))["Authorization"].split()[1]
    r = await client.post("/api/auth/session", json={"api_key": analytics})
    assert r.status_code == 200
    for path in USER_PAGES:
        r = await client.get(path)
        assert r.status_code == 403 and "end users" in r.text
    r = await client.get("/admin/sql")
    assert r.status_code == 403 and "admin scope" in r.text
    r = await client.get("/dashboards")
    assert r.status_code == 200 and 'href="/admin/sql"' not in r.text
    r = await client.get("/")
    assert r.headers["location"] == "/dashboards"

    admin = (await sqlite_hub.key("admin"))["Authorization"].split()[1]
    await client.post("/api/auth/session", json={"api_key": admin})
    r = await client.get("/admin/sql")
    assert r.status_code == 200
    assert 'href="/admin/sql"' in r.text and 'href="/dashboards"' in r.text
    assert 'id="bell"' not in r.text  # no notification center for a key
    r = await client.get("/login")
    assert "signed in" in r.text and "with API key" in r.text


async def test_sign_out_form_clears_the_session(sqlite_hub: Hub) -> None:
    await sqlite_hub.client.get(f"/login?token={sqlite_hub.token('alice')}")
    assert (await sqlite_hub.client.get("/notifications")).status_code == 200
    page = (await sqlite_hub.client.get("/notifications")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    # a forged form (another site, no token) does not sign anyone out
    r = await sqlite_hub.client.post("/logout", data={"csrf": "nope"})
    assert r.status_code == 403
    assert (await sqlite_hub.client.get("/notifications")).status_code == 200
    r = await sqlite_hub.client.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await sqlite_hub.client.post("/logout")).status_code == 303  # already out
    r = await sqlite_hub.client.get("/notifications")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_a_user_is_refused_the_admin_console(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/admin/sql", headers=sqlite_hub.user("alice"))
    assert r.status_code == 403
    r = await sqlite_hub.client.get("/admin/sql", headers=await sqlite_hub.key("notify"))
    assert r.status_code == 403


async def test_security_headers_on_api_and_static_responses(sqlite_hub: Hub) -> None:
    for path in ("/healthz", "/static/css/hub.css", "/api/notifications/center"):
        r = await sqlite_hub.client.get(path)
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP


def test_chart_pages_allow_style_attributes_but_never_inline_scripts() -> None:
    assert csp_for("/dashboards") == CHART_CSP == csp_for("/admin/sql")
    assert csp_for("/dashboardsx") == CSP and csp_for("/notifications") == CSP
    assert "script-src 'self'" in CHART_CSP and "style-src-elem 'self'" in CHART_CSP
    # a handler's own policy wins
    headers = add_headers([(b"content-security-policy", b"sandbox")], "/")
    assert [v for k, v in headers if k == b"content-security-policy"] == [b"sandbox"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/notifications", "/notifications"),
        ("/activity?status=failed", "/activity?status=failed"),
        ("//evil.example", None),
        ("https://evil.example", None),
        ("/\\evil", None),
        ("/a b", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next(value: str | None, expected: str | None) -> None:
    assert safe_next(value) == expected


def test_nav_follows_scopes() -> None:
    user = Principal(kind="user", user_id="alice")
    assert [i.path for i in nav_for(user)] == ["/notifications", "/preferences", "/activity"]
    analyst = Principal(kind="key", key_id="k", scopes=frozenset({"analytics"}))
    assert [i.path for i in nav_for(analyst)] == ["/dashboards"]
    admin = Principal(kind="key", key_id="k", scopes=frozenset({"admin"}))
    assert [i.path for i in nav_for(admin)] == ["/dashboards", "/admin/sql"]
    assert nav_for(Principal(kind="key", key_id="k", scopes=frozenset({"notify"}))) == []
    assert nav_for(None) == []


async def test_middleware_passes_other_protocols_through_untouched() -> None:
    from hub.security import SecurityHeadersMiddleware

    seen = []

    async def app(scope, receive, send):
        await send({"type": "websocket.accept", "headers": []})

    async def send(message):
        seen.append(message)

    await SecurityHeadersMiddleware(app)({"type": "websocket", "path": "/ws"}, None, send)
    assert seen == [{"type": "websocket.accept", "headers": []}]
