"""Query models of the notification center and the SQL they turn into (pure).

Every center query is ``WHERE user_id = :u`` plus these filters, so the
indexes of sql/*/0010_search.sql answer it. Booleans are written into the SQL
as literals rather than bound: the planner then sees the same shape every
time (asyncpg caches generic plans) and matches them to index columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.db import iso_to_ms
from hub.notifications.cursor import Cursor
from hub.notifications.models import CATEGORY_RE

MAX_LIMIT = 100
MAX_SKIP = 100_000
MAX_IDS = 1000
DAY_MS = int(timedelta(days=1).total_seconds() * 1000)
MAX_ID = 2**63 - 1  # BIGINT: larger values would be a database error, not a 422
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _parse_archived(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "all":
        return None
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError("true, false or all")


def iso_bound_ms(value: str, *, end: bool) -> int:
    """An ISO 8601 date or datetime (naive means UTC) as one bound of a time range, in
    epoch ms; ValueError if it is neither. As the end of a range a bare date means
    "through that day": the next midnight. The notification center's and the activity
    feed's date filters both parse with this."""
    ms = iso_to_ms(value)
    if end and "T" not in value and len(value.strip()) <= 10:
        ms += DAY_MS
    return ms


def _parse_date(value: Any, end: bool) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_MS:
            raise ValueError("epoch milliseconds out of range")
        return value
    if not isinstance(value, str):
        raise ValueError("an ISO 8601 date or datetime")
    try:
        return iso_bound_ms(value, end=end)
    except ValueError:
        raise ValueError("an ISO 8601 date or datetime, e.g. 2026-01-31") from None


class FilterQuery(BaseModel):
    """category, is_read, archived (true/false/all), date_from, date_to (exclusive)."""

    model_config = ConfigDict(extra="ignore")

    category: str | None = None
    is_read: bool | None = None
    archived: bool | None = False
    date_from: int | None = None
    date_to: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        # a form's empty select ("category=") means "any", not an invalid value
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        if v is not None and not CATEGORY_RE.match(v):
            raise ValueError("1-100 characters: letters, digits, _ . : -")
        return v or None

    @field_validator("archived", mode="before")
    @classmethod
    def _archived(cls, v: Any) -> bool | None:
        return _parse_archived(v)

    @field_validator("date_from", mode="before")
    @classmethod
    def _date_from(cls, v: Any) -> int | None:
        return _parse_date(v, end=False)

    @field_validator("date_to", mode="before")
    @classmethod
    def _date_to(cls, v: Any) -> int | None:
        return _parse_date(v, end=True)

    @model_validator(mode="after")
    def _range(self) -> FilterQuery:
        if self.date_from is not None and self.date_to is not None:
            if self.date_to <= self.date_from:
                raise ValueError("date_to must be after date_from")
        return self


class CenterQuery(FilterQuery):
    sort: Literal["newest", "oldest", "unread_first"] = "newest"
    skip: int = Field(default=0, ge=0, le=MAX_SKIP)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class SearchQuery(FilterQuery):
    query: str = Field(min_length=1, max_length=500)
    skip: int = Field(default=0, ge=0, le=MAX_SKIP)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)


class ExportQuery(FilterQuery):
    archived: bool | None = None  # an export holds everything unless told otherwise
    format: Literal["csv", "json"] = "csv"


class PollQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    since: int = Field(default=0, ge=0, le=MAX_ID)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class IdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)

    @field_validator("ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 1 or i > MAX_ID for i in v):
            raise ValueError("ids are positive integers")
        return list(dict.fromkeys(v))


@dataclass(frozen=True)
class Where:
    sql: str
    params: dict[str, Any]


def where(user_id: str, f: FilterQuery, alias: str = "") -> Where:
    """The WHERE clause (without the keyword) for the user's rows matching `f`."""
    a = alias
    parts = [f"{a}user_id = :u"]
    params: dict[str, Any] = {"u": user_id}
    if f.archived is not None:
        parts.append(f"{a}archived" if f.archived else f"NOT {a}archived")
    if f.is_read is not None:
        parts.append(f"{a}is_read" if f.is_read else f"NOT {a}is_read")
    if f.category is not None:
        parts.append(f"{a}category = :category")
        params["category"] = f.category
    if f.date_from is not None:
        parts.append(f"{a}created_at >= :date_from")
        params["date_from"] = f.date_from
    if f.date_to is not None:
        parts.append(f"{a}created_at < :date_to")
        params["date_to"] = f.date_to
    return Where(" AND ".join(parts), params)


ORDER_BY = {
    "newest": "id DESC",
    "oldest": "id ASC",
    "unread_first": "is_read ASC, id DESC",
}


def keyset(cursor: Cursor | None) -> Where:
    """The condition for rows after `cursor` in its sort order."""
    if cursor is None:
        return Where("", {})
    params = {"cid": cursor.id}
    if cursor.sort == "oldest":
        return Where("id > :cid", params)
    if cursor.sort == "unread_first":
        if cursor.is_read:
            return Where("(is_read AND id < :cid)", params)
        return Where("(is_read OR id < :cid)", params)
    return Where("id < :cid", params)
