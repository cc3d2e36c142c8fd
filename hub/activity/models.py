"""Activity request models, list filters and the JSON shape of an activity."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.db import ms_to_iso
from hub.notifications.models import check_user_id

MAX_BATCH = 1000
MAX_TYPES_IN_FILTER = 20
MAX_METADATA_BYTES = 16 * 1024
BUILTIN_TYPES = ("verification", "payment", "login", "settings", "api_key")
STATUSES = ("completed", "pending", "failed")
# producer-defined types share the built-ins' alphabet so they stay safe in URLs and CSV
TYPE_RE = re.compile(r"^[a-z0-9_.-]{1,50}$")
RESOURCE_ID_RE = re.compile(r"^[^\x00-\x1f]{1,200}$")

Action = Literal["created", "completed", "failed", "updated", "deleted"]
Status = Literal["completed", "pending", "failed"]


def check_type(value: str) -> str:
    if not TYPE_RE.match(value):
        raise ValueError("1-50 characters: a-z 0-9 _ . -")
    return value


def check_resource_id(value: str) -> str:
    if not RESOURCE_ID_RE.match(value):
        raise ValueError("1-200 characters without control characters")
    return value


def check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


def check_ip(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


class NoNul(BaseModel):
    """Postgres text cannot hold NUL: refuse it in every string field (422, not a 500)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("must not contain NUL characters")
        return v


class ActivityIn(NoNul):
    """One activity as a producer posts it (and as track() records it)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    activity_type: str
    action: Action
    status: Status = "completed"
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    resource_type: str | None = None
    resource_id: str | None = None
    metadata: dict[str, Any] | None = None
    ip_address: str | None = None
    user_agent: str | None = Field(default=None, max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, v: str) -> str:
        return check_user_id(v)

    @field_validator("activity_type")
    @classmethod
    def _type(cls, v: str) -> str:
        return check_type(v)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_metadata(v)

    @field_validator("ip_address")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        return check_ip(v)

    @field_validator("resource_type")
    @classmethod
    def _resource_type(cls, v: str | None) -> str | None:
        return None if v is None else check_type(v)

    @field_validator("resource_id")
    @classmethod
    def _resource_id(cls, v: str | None) -> str | None:
        return None if v is None else check_resource_id(v)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activities: list[ActivityIn] = Field(min_length=1, max_length=MAX_BATCH)


class Filters(NoNul):
    """What a list or an export is narrowed to (all optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    activity_type: str | None = None
    resource_type: str | None = None
    status: Status | None = None
    date_from: str | None = None
    date_to: str | None = None
    q: str | None = Field(default=None, max_length=200)

    @field_validator("activity_type", "resource_type")
    @classmethod
    def _types(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        # a comma-separated list selects any of several types
        parts = v.split(",")
        if len(parts) > MAX_TYPES_IN_FILTER:
            raise ValueError(f"at most {MAX_TYPES_IN_FILTER} types")
        return ",".join(check_type(part.strip()) for part in parts)


class ListQuery(Filters):
    cursor: str | None = Field(default=None, max_length=200)
    skip: int = Field(default=0, ge=0, le=100_000)
    limit: int = Field(default=20, ge=1, le=100)


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "csv"] = "json"
    filters: Filters = Field(default_factory=Filters)


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    """An activity row as the API shows it (the producer's key id stays internal)."""
    metadata = row.get("metadata")
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "activity_type": row["activity_type"],
        "resource_type": row.get("resource_type"),
        "resource_id": row.get("resource_id"),
        "action": row["action"],
        "status": row["status"],
        "title": row["title"],
        "description": row.get("description") or "",
        "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
        "ip_address": row.get("ip_address"),
        "user_agent": row.get("user_agent"),
        "created_at": ms_to_iso(row["created_at"]),
    }
