"""Who is calling: API keys, end-user tokens (JWT), session cookies, CSRF, scopes.

- Producers and admins send ``Authorization: Bearer hub_<id>_<secret>``; keys are
  stored as a SHA-256 hash (they are long random strings, so a slow hash adds
  nothing) and carry scopes. ``admin`` implies every other scope.
- End users send ``Authorization: Bearer <JWT>`` (HS256, ``sub`` = user id,
  ``exp`` required) or the signed session cookie obtained from one.
- Unsafe methods authenticated by cookie need ``X-CSRF-Token`` (the value of
  the session's csrf) or an ``Origin`` header naming this host.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import HTTPConnection, Request

from hub.db import Database, now_ms
from hub.errors import Forbidden, Invalid, Unauthorized

SCOPES = ("notify", "activity", "analytics", "admin")
SESSION_COOKIE = "hub_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" (JWT or session) or "key" (API key, or a session made from one)
    user_id: str | None = None
    key_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    via_cookie: bool = False
    csrf: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @property
    def is_user(self) -> bool:
        """An end user (token or user session), not an API key or a key session."""
        return self.kind == "user" and bool(self.user_id)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes


# ---------------------------------------------------------------- API keys


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else text.split(",")
    scopes = sorted({s.strip() for s in items if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise Invalid.field("scopes", f"choose from {', '.join(SCOPES)}")
    return scopes


async def create_api_key(db: Database, name: str, scopes: list[str]) -> tuple[str, str]:
    """Create a key; returns (key id, the full key). The key is shown only once."""
    scopes = parse_scopes(scopes)
    key_id = "k_" + secrets.token_hex(4)
    key = f"hub_{key_id}_{secrets.token_urlsafe(32)}"
    await db.execute(
        "INSERT INTO api_keys (id, name, key_hash, scopes, created_at)"
        " VALUES (:id, :name, :hash, :scopes, :now)",
        {
            "id": key_id,
            "name": name,
            "hash": _hash_key(key),
            "scopes": ",".join(scopes),
            "now": now_ms(),
        },
    )
    return key_id, key


async def revoke_api_key(db: Database, key_id: str) -> bool:
    n = await db.fetch_val(
        "SELECT COUNT(*) FROM api_keys WHERE id = :id AND revoked_at IS NULL", {"id": key_id}
    )
    await db.execute(
        "UPDATE api_keys SET revoked_at = :now WHERE id = :id", {"id": key_id, "now": now_ms()}
    )
    # this process stops trusting the key at once (a check that read the row before
    # this update does not cache its answer: see _check_and_cache); others within
    # KEY_CACHE_S
    db.memo["api_key_revocations"] = db.memo.get("api_key_revocations", 0) + 1
    cache = _key_cache(db)
    for digest in [d for d, (p, _) in cache.items() if p.key_id == key_id]:
        del cache[digest]
    return bool(n)


KEY_CACHE_S = 5.0  # default of HUB_API_KEY_CACHE_S
KEY_CACHE_MAX = 10_000  # distinct keys remembered; beyond this the cache starts over


def _key_cache(db: Database) -> dict[str, tuple[Principal, float]]:
    """Verified keys of this database: SHA-256 of the key -> (principal, expiry).

    A producer sending thousands of notifications a second would otherwise pay
    a query (a pool checkout and two round trips) per request for the same key.
    Only successful checks are kept, and by hash, so the secret is never held.
    """
    cache: dict[str, tuple[Principal, float]] = db.memo.setdefault("api_keys", {})
    return cache


async def check_api_key(db: Database, key: str, cache_s: float = KEY_CACHE_S) -> Principal:
    """The principal of a valid, unrevoked key; trusted for `cache_s` seconds after a check."""
    digest = _hash_key(key)
    cache = _key_cache(db)
    hit = cache.get(digest)
    if hit is not None and time.monotonic() < hit[1]:
        return hit[0]
    if cache_s <= 0:
        return await _check_api_key(db, key, digest)
    # One check per key at a time: the requests that miss together (at start-up, or
    # when the entry expires under load) share it instead of each taking a pool
    # connection for the same query.
    checks: dict[str, asyncio.Task[Principal]] = db.memo.setdefault("api_key_checks", {})
    task = checks.get(digest)
    if task is None:
        task = asyncio.ensure_future(_check_and_cache(db, key, digest, cache_s))
        checks[digest] = task
        task.add_done_callback(lambda done: _check_done(checks, digest, done))
    return await asyncio.shield(task)  # a caller that goes away leaves the check to the rest


def _check_done(checks: dict[str, Any], digest: str, task: asyncio.Task[Principal]) -> None:
    checks.pop(digest, None)
    if not task.cancelled():
        task.exception()  # retrieved here too, in case every caller went away


async def _check_and_cache(db: Database, key: str, digest: str, cache_s: float) -> Principal:
    revocations = db.memo.get("api_key_revocations", 0)
    principal = await _check_api_key(db, key, digest)
    if db.memo.get("api_key_revocations", 0) != revocations:
        return principal  # a key was revoked meanwhile: the row read may predate it
    cache = _key_cache(db)
    if len(cache) >= KEY_CACHE_MAX:
        cache.clear()
    cache[digest] = (principal, time.monotonic() + cache_s)
    return principal


async def _check_api_key(db: Database, key: str, digest: str) -> Principal:
    parts = key.split("_")
    # hub_k_<hex>_<secret>: the secret itself may contain "_"
    if len(parts) < 4 or parts[0] != "hub" or parts[1] != "k":
        raise Unauthorized("invalid API key", code="invalid_key")
    key_id = f"k_{parts[2]}"
    row = await db.fetch_one(
        "SELECT key_hash, scopes, revoked_at, last_used_at FROM api_keys WHERE id = :id",
        {"id": key_id},
    )
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("invalid API key", code="invalid_key")
    if not hmac.compare_digest(row["key_hash"], digest):
        raise Unauthorized("invalid API key", code="invalid_key")
    now = now_ms()
    # record use at most once a minute so hot keys do not write on every call
    if row["last_used_at"] is None or now - row["last_used_at"] > 60_000:
        await db.execute(
            "UPDATE api_keys SET last_used_at = :now WHERE id = :id", {"now": now, "id": key_id}
        )
    return Principal(kind="key", key_id=key_id, scopes=frozenset(row["scopes"].split(",")))


# ---------------------------------------------------------------- user tokens


def make_user_token(secret: str, user_id: str, ttl: int = 3600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": str(user_id), "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def check_user_token(secret: str, token: str) -> str:
    """The user id a token names, or Unauthorized (alg=none, expired, forged, no exp)."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token", code="invalid_token") from None
    sub = payload.get("sub")
    # control characters (NUL above all) could never name a user and break SQL drivers
    if not isinstance(sub, str) or not sub or len(sub) > 200 or not sub.isprintable():
        raise Unauthorized("invalid token subject", code="invalid_token")
    return sub


# ---------------------------------------------------------------- sessions


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="hub.session")


def make_session(secret: str, principal: Principal) -> tuple[str, str]:
    """A signed cookie value for this principal; returns (cookie, csrf token)."""
    csrf = secrets.token_urlsafe(24)
    data = {
        "k": principal.kind,
        "u": principal.user_id,
        "i": principal.key_id,
        "s": sorted(principal.scopes),
        "c": csrf,
    }
    return _serializer(secret).dumps(data), csrf


def read_session(secret: str, cookie: str, max_age: int) -> Principal | None:
    try:
        data = _serializer(secret).loads(cookie, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    return Principal(
        kind=data.get("k", "user"),
        user_id=data.get("u"),
        key_id=data.get("i"),
        scopes=frozenset(data.get("s") or ()),
        via_cookie=True,
        csrf=data.get("c"),
    )


def origin_matches(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    if not origin:
        return False
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def check_csrf(request: Request, principal: Principal) -> None:
    if not principal.via_cookie or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent and principal.csrf and hmac.compare_digest(sent, principal.csrf):
        return
    if origin_matches(request):
        return
    raise Forbidden(
        "CSRF check failed: send X-CSRF-Token or a same-origin request", code="csrf_failed"
    )


# ---------------------------------------------------------------- request helpers


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def user_principal(secret: str, token: str) -> Principal:
    """The end user a JWT names (Unauthorized when it is not valid)."""
    return Principal(kind="user", user_id=check_user_token(secret, token))


async def principal_from_token(state: Any, token: str) -> Principal:
    """Whoever a bearer token names: an API key (``hub_…``) or a user JWT."""
    settings = state.settings
    if token.startswith("hub_"):
        return await check_api_key(state.db, token, settings.api_key_cache_s)
    return user_principal(settings.secret_key, token)


async def authenticate(conn: HTTPConnection) -> Principal:
    """Whoever the request names: Bearer API key, Bearer JWT, or session cookie."""
    cached = conn.scope.get("hub.principal")
    if cached is not None:
        return cached
    state = conn.app.state
    settings = state.settings
    token = bearer(conn)
    principal: Principal | None = None
    if token:
        principal = await principal_from_token(state, token)
    else:
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = read_session(settings.secret_key, cookie, settings.token_max_age)
    if principal is None:
        raise Unauthorized()
    conn.scope["hub.principal"] = principal
    return principal


async def require_user(request: Request) -> Principal:
    """An end user (token or session); API keys cannot act as users."""
    principal = await authenticate(request)
    if not principal.is_user:
        raise Forbidden(
            "this endpoint is for end users (user token or session)", code="user_required"
        )
    check_csrf(request, principal)
    return principal


async def require_user_id(request: Request) -> str:
    """The signed-in end user's id (401/403 otherwise; CSRF checked for cookie sessions)."""
    user_id = (await require_user(request)).user_id
    assert user_id is not None  # require_user guarantees it
    return user_id


async def require_scope(request: Request, *scopes: str) -> Principal:
    """An API key (or API-key session) holding any one of `scopes` (admin holds all)."""
    principal = await authenticate(request)
    if not any(principal.has(s) for s in scopes):
        raise Forbidden(f"missing scope: {' or '.join(scopes)}", code="missing_scope")
    check_csrf(request, principal)
    return principal
