"""Opaque keyset cursors for the notification center.

A cursor names the last row of a page by its sort key, signed so a client can
neither forge one nor hand a cursor of one sort order to another; anything that
does not verify is a 422 on ``cursor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from hub.errors import Invalid


@dataclass(frozen=True)
class Cursor:
    sort: str
    id: int
    is_read: bool = False  # part of the key for sort=unread_first


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="hub.center.cursor")


def encode(secret: str, cursor: Cursor) -> str:
    data: dict[str, Any] = {"s": cursor.sort, "i": cursor.id}
    if cursor.sort == "unread_first":
        data["r"] = cursor.is_read
    return str(_serializer(secret).dumps(data))


def decode(secret: str, text: str, sort: str) -> Cursor:
    """The cursor `text` names, or Invalid on `cursor` (forged, garbled, other sort)."""
    try:
        data = _serializer(secret).loads(text)
    except BadSignature:
        raise Invalid.field("cursor", "not a cursor this server issued") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("i"), int)
        or isinstance(data.get("i"), bool)
        or not isinstance(data.get("r", False), bool)
    ):
        raise Invalid.field("cursor", "not a cursor this server issued")
    if data.get("s") != sort:
        raise Invalid.field("cursor", f"this cursor is for sort={data.get('s')}, not {sort}")
    return Cursor(sort=sort, id=data["i"], is_read=data.get("r", False))


def after(row: dict[str, Any], sort: str) -> Cursor:
    """The cursor that continues after `row`."""
    return Cursor(sort=sort, id=int(row["id"]), is_read=bool(row["is_read"]))
