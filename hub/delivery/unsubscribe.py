"""Signed, expiring unsubscribe tokens for List-Unsubscribe (RFC 8058) links.

A token names a user and a category ('*' for every email); it is signed with
HUB_SECRET_KEY (itsdangerous TimestampSigner, its own salt) and expires after
MAX_AGE, so the one-click endpoint works without a login and cannot be forged.
The payload is base64url of "user\x1fcategory": no JSON or compression, as a
token is made for every email sent.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

SALT = "hub.unsubscribe"
MAX_AGE = 60 * 24 * 3600  # links in old emails keep working for two months
PATH = "/api/notifications/email/unsubscribe"


@lru_cache(maxsize=4)
def _signer(secret: str) -> TimestampSigner:
    return TimestampSigner(secret, salt=SALT)


def make_token(secret: str, user_id: str, category: str = "*") -> str:
    payload = base64.urlsafe_b64encode(f"{user_id}\x1f{category}".encode()).rstrip(b"=")
    return _signer(secret).sign(payload).decode("ascii")


def read_token(secret: str, token: str, max_age: int | None = None) -> tuple[str, str]:
    """(user id, category) the token names; ValueError("expired"|"invalid") otherwise."""
    try:
        payload = _signer(secret).unsign(token, max_age=MAX_AGE if max_age is None else max_age)
        text = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)).decode()
    except SignatureExpired:
        raise ValueError("expired") from None
    except (BadSignature, ValueError):
        raise ValueError("invalid") from None
    user_id, sep, category = text.partition("\x1f")
    if not sep or not user_id:
        raise ValueError("invalid")
    return user_id, category or "*"


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}?token={quote(token)}"
