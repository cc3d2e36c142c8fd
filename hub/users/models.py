"""The user profile the producer keeps current, and how it is validated."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.db import ms_to_iso
from hub.notifications.models import check_user_id
from hub.preferences.routing import zone

# a plain mailbox: no quoting, comments or brackets that SMTP parsers read differently
EMAIL_RE = re.compile(
    r"^[^@\s<>()\[\]\\,;:\"]{1,64}@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\"]+$"
)
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
URL_RE = re.compile(r"^https?://[^\s/]+\S*$", re.I)
APPRISE_RE = re.compile(r"^[a-z][a-z0-9+.-]{1,30}://\S+$", re.I)
PROFILE_FIELDS = ("email", "phone", "timezone", "locale", "webhook_url", "chat_url")


def check_email(value: str) -> str:
    if len(value) > 320 or not EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    return value


def check_timezone(value: str) -> str:
    zone(value)  # raises ValueError naming the problem
    return value


class ProfileIn(BaseModel):
    """PUT /api/users/{id}: fields present are set (null clears), absent ones are kept."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    locale: str | None = Field(default=None, max_length=35)
    webhook_url: str | None = Field(default=None, max_length=2000)
    chat_url: str | None = Field(default=None, max_length=2000)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else check_email(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not E164_RE.match(v):
            raise ValueError("must be an E.164 number such as +14155550100")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str | None) -> str | None:
        if v is not None and not LOCALE_RE.match(v):
            raise ValueError("must be a locale such as en or pt-BR")
        return v

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, v: str | None) -> str | None:
        if v is not None and not URL_RE.match(v):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("chat_url")
    @classmethod
    def _chat(cls, v: str | None) -> str | None:
        if v is not None and not APPRISE_RE.match(v):
            raise ValueError("must be an Apprise URL such as slack://… or json://host/path")
        return v

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


def valid_user_id(user_id: str) -> bool:
    try:
        check_user_id(user_id)
    except ValueError:
        return False
    return True


def profile_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": row["user_id"],
        **{k: row.get(k) for k in PROFILE_FIELDS},
        "email_opt_out": bool(row.get("email_opt_out")),
        "digest_hour": row.get("digest_hour"),
        "created_at": ms_to_iso(row.get("created_at")),
        "updated_at": ms_to_iso(row.get("updated_at")),
    }
