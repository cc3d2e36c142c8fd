"""Auth: API keys and scopes, user tokens (JWT), sessions, the login link, logout, CSRF."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from hub.auth import check_user_token, make_user_token, parse_scopes, revoke_api_key
from hub.auth_api import local_path
from hub.errors import Invalid, Unauthorized
from tests.conftest import SECRET, Hub, make_settings, start_hub

USER_POST = "/api/notifications/read-all"  # any unsafe end-user endpoint


def _token(payload: dict, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def test_token_checks() -> None:
    now = int(time.time())
    assert check_user_token(SECRET, make_user_token(SECRET, "alice")) == "alice"
    bad = {
        "alg=none": jwt.encode({"sub": "a", "exp": now + 60}, None, algorithm="none"),
        "wrong key": _token({"sub": "a", "exp": now + 60}, key="another-secret-" * 3),
        "no exp": _token({"sub": "a"}),
        "no sub": _token({"exp": now + 60}),
        "empty sub": _token({"sub": "", "exp": now + 60}),
        "NUL in sub": _token({"sub": "a\x00b", "exp": now + 60}),
        "number sub": _token({"sub": 5, "exp": now + 60}),
        "garbage": "not.a.jwt",
    }
    for name, token in bad.items():
        with pytest.raises(Unauthorized) as err:
            check_user_token(SECRET, token)
        assert err.value.code == "invalid_token", name
    with pytest.raises(Unauthorized) as err:
        check_user_token(SECRET, _token({"sub": "a", "exp": now - 10}))
    assert err.value.code == "token_expired"


def test_parse_scopes() -> None:
    assert parse_scopes("notify, admin,notify") == ["admin", "notify"]
    for bad in ("", "root", "notify,root"):
        with pytest.raises(Invalid):
            parse_scopes(bad)


def test_local_path() -> None:
    assert local_path("/notifications?x=1") == "/notifications?x=1"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil", "/a b", "x"):
        assert local_path(bad) is None


async def test_bad_tokens_are_401_over_http(hub: Hub) -> None:
    now = int(time.time())
    tokens = [
        jwt.encode({"sub": "a", "exp": now + 60}, None, algorithm="none"),
        _token({"sub": "a", "exp": now - 10}),
        _token({"sub": "a", "exp": now + 60}, key="x" * 40),
        _token({"sub": "a"}),
    ]
    for token in tokens:
        r = await hub.client.get(
            "/api/notifications/unread-count", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
    r = await hub.client.get("/api/notifications/unread-count", headers=hub.user("a"))
    assert r.status_code == 200


async def test_api_keys_hashed_revocable(hub: Hub) -> None:
    headers = await hub.key("notify")
    key = headers["Authorization"].split()[1]
    rows = await hub.db.fetch_all("SELECT id, key_hash FROM api_keys")
    assert len(rows) == 1 and key not in rows[0]["key_hash"] and len(rows[0]["key_hash"]) == 64
    body = {"user_id": "a", "category": "c", "title": "t"}
    assert (
        await hub.client.post("/api/notifications", json=body, headers=headers)
    ).status_code == 201
    # a key with the right id but another secret
    forged = {"Authorization": f"Bearer {key[:-4]}AAAA"}
    assert (
        await hub.client.post("/api/notifications", json=body, headers=forged)
    ).status_code == 401
    assert await revoke_api_key(hub.db, rows[0]["id"]) is True
    r = await hub.client.post("/api/notifications", json=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    assert await revoke_api_key(hub.db, rows[0]["id"]) is False


async def test_api_key_cache_and_revocation_elsewhere(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verified key is trusted for HUB_API_KEY_CACHE_S without a query; a revocation
    written by another process (here: straight into the table) applies after that."""
    async for hub in start_hub(make_settings(db_url, tmp_path, api_key_cache_s=0.3)):
        headers = await hub.key("notify")
        body = {"user_id": "a", "category": "c", "title": "t"}
        post = hub.client.post
        assert (await post("/api/notifications", json=body, headers=headers)).status_code == 201
        queries: list[str] = []
        fetch_one = hub.db.fetch_one

        async def counting(sql: str, values: Any = None) -> Any:
            queries.append(sql)
            return await fetch_one(sql, values)

        # a wrong secret for the same key id is never served from the cache
        key = headers["Authorization"].split()[1]
        forged = {"Authorization": f"Bearer {key[:-4]}AAAA"}
        assert (await post("/api/notifications", json=body, headers=forged)).status_code == 401
        monkeypatch.setattr(hub.db, "fetch_one", counting)
        await hub.db.execute("UPDATE api_keys SET revoked_at = 1")
        assert (await post("/api/notifications", json=body, headers=headers)).status_code == 201
        assert not any("api_keys" in q for q in queries)
        await asyncio.sleep(0.35)
        r = await post("/api/notifications", json=body, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"


async def test_concurrent_misses_share_one_key_check(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests that miss the key cache together (start-up, expiry under load) wait for
    one query instead of each running it; a bad key fails for all of them alike."""
    from hub import auth

    async for hub in start_hub(make_settings(db_url, tmp_path, api_key_cache_s=5)):
        key = (await hub.key("notify"))["Authorization"].split()[1]
        calls: list[str] = []
        real = auth._check_api_key

        async def slow_check(db: Any, key: str, digest: str) -> Any:
            calls.append(digest)
            await asyncio.sleep(0.05)
            return await real(db, key, digest)

        monkeypatch.setattr(auth, "_check_api_key", slow_check)
        got = await asyncio.gather(*(auth.check_api_key(hub.db, key, 5) for _ in range(20)))
        assert len(calls) == 1 and {p.key_id for p in got} == {got[0].key_id}
        assert got[0].key_id is not None
        forged = key[:-4] + "AAAA"
        bad = await asyncio.gather(
            *(auth.check_api_key(hub.db, forged, 5) for _ in range(5)), return_exceptions=True
        )
        assert len(calls) == 2 and all(isinstance(e, Unauthorized) for e in bad)
        # a caller that goes away does not take the check from the others
        waiters = [
            asyncio.create_task(auth.check_api_key(hub.db, forged + "B", 5)) for _ in range(3)
        ]
        await asyncio.sleep(0.01)
        waiters[0].cancel()
        rest = await asyncio.gather(*waiters, return_exceptions=True)
        assert isinstance(rest[0], asyncio.CancelledError)
        assert all(isinstance(e, Unauthorized) for e in rest[1:]) and len(calls) == 3
        assert hub.db.memo["api_key_checks"] == {}


async def test_a_check_racing_a_revocation_does_not_cache_the_key(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that read the key's row before this process revoked it answers as it
    read it, but leaves nothing in the cache: the next request is refused."""
    from hub import auth

    async for hub in start_hub(make_settings(db_url, tmp_path, api_key_cache_s=5)):
        key = (await hub.key("notify"))["Authorization"].split()[1]
        real = auth._check_api_key

        async def check_then_revoke(db: Any, key: str, digest: str) -> Any:
            principal = await real(db, key, digest)
            await revoke_api_key(db, principal.key_id)
            return principal

        monkeypatch.setattr(auth, "_check_api_key", check_then_revoke)
        assert (await auth.check_api_key(hub.db, key, 5)).key_id is not None
        monkeypatch.setattr(auth, "_check_api_key", real)
        with pytest.raises(Unauthorized):
            await auth.check_api_key(hub.db, key, 5)


async def test_api_key_cache_off(db_url: str, tmp_path: Path) -> None:
    async for hub in start_hub(make_settings(db_url, tmp_path, api_key_cache_s=0)):
        headers = await hub.key("notify")
        body = {"user_id": "a", "category": "c", "title": "t"}
        post = hub.client.post
        assert (await post("/api/notifications", json=body, headers=headers)).status_code == 201
        await hub.db.execute("UPDATE api_keys SET revoked_at = 1")
        assert (await post("/api/notifications", json=body, headers=headers)).status_code == 401


async def test_session_from_token_and_csrf(hub: Hub) -> None:
    r = await hub.client.post("/api/auth/session", json={"token": hub.token("alice")})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    assert r.json()["user_id"] == "alice" and csrf
    cookie = r.headers["set-cookie"].lower()
    assert "hub_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    # reads work with the cookie alone
    r = await hub.client.get("/api/auth/session")
    assert r.json()["user_id"] == "alice" and r.json()["csrf_token"] == csrf
    assert (await hub.client.get("/api/notifications/unread-count")).status_code == 200
    # unsafe method with the cookie: no token and no same Origin → 403
    r = await hub.client.post(USER_POST)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await hub.client.post(USER_POST, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = await hub.client.post(USER_POST, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert (await hub.client.post(USER_POST, headers={"X-CSRF-Token": csrf})).status_code == 200
    assert (
        await hub.client.post(USER_POST, headers={"Origin": "http://testserver"})
    ).status_code == 200
    # logout clears the cookie
    r = await hub.client.post("/api/auth/logout")
    assert r.status_code == 200 and 'hub_session=""' in r.headers["set-cookie"]
    assert (await hub.client.get("/api/notifications/unread-count")).status_code == 401


async def test_tampered_cookie_is_401(hub: Hub) -> None:
    await hub.client.post("/api/auth/session", json={"token": hub.token("alice")})
    value = hub.client.cookies["hub_session"]
    hub.client.cookies.clear()
    hub.client.cookies.set("hub_session", value[:-3] + "abc")
    assert (await hub.client.get("/api/notifications/unread-count")).status_code == 401
    hub.client.cookies.clear()


async def test_session_from_api_key(hub: Hub) -> None:
    key = (await hub.key("analytics"))["Authorization"].split()[1]
    r = await hub.client.post("/api/auth/session", json={"api_key": key})
    assert r.status_code == 200
    assert r.json()["kind"] == "key" and r.json()["scopes"] == ["analytics"]
    # a key session is not a user
    assert (await hub.client.get("/api/notifications/unread-count")).status_code == 403
    hub.client.cookies.clear()
    r = await hub.client.post("/api/auth/session", json={"api_key": "hub_k_0_nope"})
    assert r.status_code == 401


async def test_session_bad_requests(hub: Hub) -> None:
    r = await hub.client.post("/api/auth/session", json={"token": "nope"})
    assert r.status_code == 401
    for body in ({}, {"token": 5}, [1]):
        r = await hub.client.post("/api/auth/session", json=body)
        assert r.status_code == 422, body
    assert (await hub.client.post("/api/auth/session", content=b"")).status_code == 422
    assert "set-cookie" not in r.headers


async def test_login_link_sets_cookie_and_redirects(hub: Hub) -> None:
    r = await hub.client.get("/login", params={"token": hub.token("bob")})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert (await hub.client.get("/api/auth/session")).json()["user_id"] == "bob"
    hub.client.cookies.clear()
    r = await hub.client.get("/login", params={"token": hub.token("bob"), "next": "/r/5"})
    assert r.headers["location"] == "/r/5"
    hub.client.cookies.clear()
    r = await hub.client.get(
        "/login", params={"token": hub.token("bob"), "next": "https://evil.example"}
    )
    assert r.headers["location"] == "/notifications"
    hub.client.cookies.clear()
    r = await hub.client.get("/login", params={"token": "bad"})
    assert r.status_code == 401 and "set-cookie" not in r.headers


async def test_expired_session_cookie_is_refused(hub: Hub, monkeypatch) -> None:
    await hub.client.post("/api/auth/session", json={"token": hub.token("alice")})
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + hub.settings.token_max_age + 10)
    assert (await hub.client.get("/api/notifications/unread-count")).status_code == 401
    hub.client.cookies.clear()


async def test_login_without_token(hub: Hub) -> None:
    r = await hub.client.get("/login")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    hook = hub.app.state.render_login
    hub.app.state.render_login = None
    try:
        r = await hub.client.get("/login")
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_required"
    finally:
        hub.app.state.render_login = hook


async def test_idempotency_key_header(hub: Hub) -> None:
    headers = {**(await hub.key("notify")), "Idempotency-Key": "hdr-1"}
    body = {"user_id": "a", "category": "c", "title": "t"}
    first = await hub.client.post("/api/notifications", json=body, headers=headers)
    again = await hub.client.post("/api/notifications", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["ids"] == first.json()["ids"]


def test_tokens_are_redacted_from_access_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5",
            "GET",
            "/login?next=/x&token=eyJhbGciOi.secret.sig",
            "1.1",
            303,
        )
        logger.info('%s - "%s %s HTTP/%s" %d', "c", "GET", "/ws?access_token=abc", "1.1", 101)
    text = caplog.text
    assert "eyJhbGciOi" not in text and "abc" not in text.split("access_token=")[1]
    assert "/login?next=/x&token=***" in text and "/ws?access_token=***" in text
