"""Request models and the JSON shape of a notification."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.db import ms_to_iso
from hub.errors import Invalid

MAX_RECIPIENTS = 10_000
MAX_DATA_BYTES = 16 * 1024
PRIORITIES = ("low", "normal", "high", "critical")
CATEGORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
USER_ID_RE = re.compile(r"^[^\s\x00-\x1f]{1,200}$")


def check_user_id(value: str) -> str:
    if not USER_ID_RE.match(value):
        raise ValueError("must be 1-200 printable characters without spaces")
    return value


def check_link(value: str | None) -> str | None:
    """Only http(s) URLs or a relative path: never javascript:, data:, //host."""
    if value is None or value == "":
        return None
    if len(value) > 2000:
        raise ValueError("at most 2000 characters")
    if re.match(r"^https?://[^\s/]+", value, re.I) and not any(c in value for c in "\r\n\t "):
        return value
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        if not any(c in value for c in "\r\n\t "):
            return value
    raise ValueError("must be an http(s) URL or a path starting with /")


class NotificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    user_id: str | None = None
    user_ids: list[str] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    category: str
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    link: str | None = None
    data: dict[str, Any] | None = None
    priority: Literal["low", "normal", "high", "critical"] = "normal"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, v: str | None) -> str | None:
        return None if v is None else check_user_id(v)

    @field_validator("user_ids")
    @classmethod
    def _user_ids(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        for item in v:
            check_user_id(item)
        # the same user twice in one send would get the notification twice
        return list(dict.fromkeys(v))

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if not CATEGORY_RE.match(v):
            raise ValueError("1-100 characters: letters, digits, _ . : -")
        return v

    @field_validator("link")
    @classmethod
    def _link(cls, v: str | None) -> str | None:
        return check_link(v)

    @field_validator("data")
    @classmethod
    def _data(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(json.dumps(v).encode()) > MAX_DATA_BYTES:
            raise ValueError(f"at most {MAX_DATA_BYTES} bytes as JSON")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v):
            raise ValueError("not a valid email address")
        return v

    def recipients(self) -> list[str]:
        if (self.user_id is None) == (self.user_ids is None):
            raise Invalid.field("user_id", "give exactly one of user_id or user_ids")
        if self.user_ids is not None and not self.user_ids:
            raise Invalid.field("user_ids", "must not be empty")
        return [self.user_id] if self.user_id is not None else list(self.user_ids or [])


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    """A notification row as the API shows it."""
    data = row.get("data")
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "category": row["category"],
        "title": row["title"],
        "body": row["body"],
        "link": row.get("link"),
        "data": json.loads(data) if isinstance(data, str) else data,
        "priority": row["priority"],
        "is_read": bool(row["is_read"]),
        "read_at": ms_to_iso(row.get("read_at")),
        "archived": bool(row["archived"]),
        "archived_at": ms_to_iso(row.get("archived_at")),
        "clicked_at": ms_to_iso(row.get("clicked_at")),
        "created_at": ms_to_iso(row["created_at"]),
    }
