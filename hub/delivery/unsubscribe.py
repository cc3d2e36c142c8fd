"""Signed, expiring unsubscribe tokens for List-Unsubscribe (RFC 8058) links.

A token names a user and a category ('*' for every email); it is signed with
HUB_SECRET_KEY (itsdangerous, its own salt) and expires after MAX_AGE, so the
one-click endpoint works without a login and cannot be forged.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "hub.unsubscribe"
MAX_AGE = 60 * 24 * 3600  # links in old emails keep working for two months
PATH = "/api/notifications/email/unsubscribe"


@lru_cache(maxsize=4)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def make_token(secret: str, user_id: str, category: str = "*") -> str:
    return _serializer(secret).dumps({"u": user_id, "c": category})


def read_token(secret: str, token: str, max_age: int | None = None) -> tuple[str, str]:
    """(user id, category) the token names; ValueError("expired"|"invalid") otherwise."""
    try:
        data = _serializer(secret).loads(token, max_age=MAX_AGE if max_age is None else max_age)
    except SignatureExpired:
        raise ValueError("expired") from None
    except BadSignature:
        raise ValueError("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        raise ValueError("invalid")
    category = data.get("c")
    return str(data["u"]), category if isinstance(category, str) else "*"


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}?token={quote(token)}"
