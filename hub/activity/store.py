"""Activity SQL: inserting activities and reading one user's feed back.

Every read is scoped to one user (``user_id = :u`` first in every WHERE), so
another user's activity is simply not found. The feed order is
``created_at DESC, id DESC``; cursors are that pair, so pages neither skip
nor repeat rows while new (newer) activities arrive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from hub.activity.models import ActivityIn
from hub.db import Database, in_list, now_ms

COLUMNS = (
    "id, user_id, activity_type, resource_type, resource_id, action, status, title,"
    " description, metadata, ip_address, user_agent, created_at, api_key_id, idempotency_key"
)
INSERT_FIELDS = (
    "user_id",
    "activity_type",
    "resource_type",
    "resource_id",
    "action",
    "status",
    "title",
    "description",
    "metadata",
    "ip_address",
    "user_agent",
    "created_at",
    "api_key_id",
    "idempotency_key",
)
TEXT_EXPR = "(title || ' ' || description)"
MAX_TERMS = 8
FEW_MATCHES = 5000
# spelled out rather than a row comparison so SQLite and Postgres plan it alike
AFTER_CURSOR = "(created_at < :cc OR (created_at = :cc AND id < :ci))"


def _values(item: ActivityIn, api_key_id: str | None, created_at: int) -> dict[str, Any]:
    values = item.model_dump()
    values["metadata"] = json.dumps(item.metadata) if item.metadata is not None else None
    values["created_at"] = created_at
    values["api_key_id"] = api_key_id
    return {k: values.get(k) for k in INSERT_FIELDS}


async def insert(
    db: Database,
    items: list[ActivityIn],
    api_key_id: str | None,
    created_at: int | None = None,
) -> list[dict[str, Any]]:
    """Insert the activities (call inside a transaction); returns the rows in order."""
    if not items:
        return []
    now = created_at if created_at is not None else now_ms()
    values = [_values(item, api_key_id, now) for item in items]
    raw = db.raw_connection()
    if db.is_postgres:
        # one statement for the whole batch; ORDINALITY keeps ids in request order
        arrays = [[v[k] for v in values] for k in INSERT_FIELDS]
        casts = ["text[]"] * 11 + ["bigint[]", "text[]", "text[]"]
        args = ", ".join(f"${n + 1}::{c}" for n, c in enumerate(casts))
        names = ", ".join(INSERT_FIELDS)
        records = await raw.fetch(
            f"INSERT INTO activities ({names}) SELECT {names} FROM"
            f" unnest({args}) WITH ORDINALITY AS t({names}, n) ORDER BY n RETURNING id",
            *arrays,
        )
        ids = [r["id"] for r in records]
    else:
        marks = ", ".join("?" for _ in INSERT_FIELDS)
        sql = f"INSERT INTO activities ({', '.join(INSERT_FIELDS)}) VALUES ({marks})"
        await raw.executemany(sql, [tuple(v[k] for k in INSERT_FIELDS) for v in values])
        # AUTOINCREMENT under the transaction's write lock hands out consecutive ids
        async with raw.execute("SELECT last_insert_rowid()") as cur:
            (last,) = await cur.fetchone()
        ids = list(range(last - len(values) + 1, last + 1))
    return [{"id": i, **v} for i, v in zip(ids, values, strict=True)]


async def get_many(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks, params = in_list("i", ids)
    rows = await db.fetch_all(f"SELECT {COLUMNS} FROM activities WHERE id IN ({marks})", params)
    by_id = {r["id"]: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def get_for_user(db: Database, user_id: str, activity_id: int) -> dict[str, Any] | None:
    """The activity if it belongs to `user_id`; None otherwise (answer 404)."""
    return await db.fetch_one(
        f"SELECT {COLUMNS} FROM activities WHERE id = :id AND user_id = :u",
        {"id": activity_id, "u": user_id},
    )


# ---------------------------------------------------------------- filtering


@dataclass
class Where:
    """A WHERE clause for one user's activities, built from plain filter values."""

    user_id: str
    activity_types: list[str] = field(default_factory=list)
    resource_types: list[str] = field(default_factory=list)
    resource_id: str | None = None
    status: str | None = None
    date_from: int | None = None  # inclusive, epoch ms
    date_to: int | None = None  # exclusive, epoch ms
    terms: list[str] = field(default_factory=list)

    def sql(self, postgres: bool) -> tuple[str, dict[str, Any]]:
        parts = ["user_id = :u"]
        params: dict[str, Any] = {"u": self.user_id}
        _any_of(parts, params, "activity_type", self.activity_types, "t")
        _any_of(parts, params, "resource_type", self.resource_types, "r")
        if self.resource_id is not None:
            parts.append("resource_id = :rid")
            params["rid"] = self.resource_id
        if self.status is not None:
            parts.append("status = :st")
            params["st"] = self.status
        if self.date_from is not None:
            parts.append("created_at >= :df")
            params["df"] = self.date_from
        if self.date_to is not None:
            parts.append("created_at < :dt")
            params["dt"] = self.date_to
        like = "ILIKE" if postgres else "LIKE"
        for n, term in enumerate(self.terms[:MAX_TERMS]):
            parts.append(f"{TEXT_EXPR} {like} :q{n} ESCAPE '\\'")
            params[f"q{n}"] = "%" + escape_like(term) + "%"
        return " AND ".join(parts), params


def _any_of(parts: list[str], params: dict[str, Any], col: str, vals: list[str], p: str) -> None:
    if not vals:
        return
    marks, named = in_list(p, vals)
    parts.append(f"{col} IN ({marks})")
    params.update(named)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_cursor(created_at: int, activity_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{activity_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(created_at, id) from a cursor; ValueError when it is not one of ours."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created_at, activity_id = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
    pair = int(created_at), int(activity_id)
    if not all(0 <= v < 2**63 for v in pair):  # a BIGINT, or the database would refuse it
        raise ValueError("cursor out of range")
    return pair


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


async def list_page(
    db: Database,
    where: Where,
    *,
    cursor: tuple[int, int] | None = None,
    skip: int = 0,
    limit: int = 20,
) -> Page:
    """One page of the feed, newest first; `total` counts every match, ignoring paging."""
    clause, params = where.sql(db.is_postgres)
    total = int(await db.fetch_val(f"SELECT COUNT(*) FROM activities WHERE {clause}", params))
    if total <= skip:
        return Page(items=[], total=total, next_cursor=None)
    page_clause = clause
    if cursor is not None:
        page_clause += " AND " + AFTER_CURSOR
        params = {**params, "cc": cursor[0], "ci": cursor[1]}
    order = "created_at DESC, id DESC"
    if db.is_postgres and where.terms and total <= FEW_MATCHES:
        # Few matches: Postgres would still walk the user's feed index hoping to meet 20
        # of them soon (576 ms over 100k rows with none); "+ 0" hides that index order so
        # it fetches the matches from the text index and sorts them instead.
        order = "created_at + 0 DESC, id + 0 DESC"
    rows = await db.fetch_all(
        f"SELECT {COLUMNS} FROM activities WHERE {page_clause}"
        f" ORDER BY {order} LIMIT :lim OFFSET :off",
        {**params, "lim": limit + 1, "off": skip},
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return Page(items=rows, total=total, next_cursor=next_cursor)


async def iterate(db: Database, where: Where, chunk: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every matching activity, newest first, fetched in keyset-paged chunks.

    Chunks rather than one open cursor: a slow download then holds no
    connection or transaction (and no SQLite read snapshot) between chunks.
    """
    clause, params = where.sql(db.is_postgres)
    cursor: tuple[int, int] | None = None
    while True:
        page_clause, page_params = clause, params
        if cursor is not None:
            page_clause += " AND " + AFTER_CURSOR
            page_params = {**params, "cc": cursor[0], "ci": cursor[1]}
        rows = await db.fetch_all(
            f"SELECT {COLUMNS} FROM activities WHERE {page_clause}"
            " ORDER BY created_at DESC, id DESC LIMIT :lim",
            {**page_params, "lim": chunk},
        )
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        cursor = (rows[-1]["created_at"], rows[-1]["id"])


async def counts(db: Database, user_id: str, since_7d: int, since_30d: int) -> list[dict[str, Any]]:
    """Per (type, status): all-time, last-7-days and last-30-days counts in one scan."""
    return await db.fetch_all(
        "SELECT activity_type, status, COUNT(*) AS total,"
        " SUM(CASE WHEN created_at >= :d7 THEN 1 ELSE 0 END) AS last_7_days,"
        " SUM(CASE WHEN created_at >= :d30 THEN 1 ELSE 0 END) AS last_30_days"
        " FROM activities WHERE user_id = :u GROUP BY activity_type, status",
        {"u": user_id, "d7": since_7d, "d30": since_30d},
    )


async def last_of_kind(
    db: Database, user_id: str, activity_type: str, resource_type: str, resource_id: str
) -> int | None:
    """created_at of the user's latest activity of this kind on this resource."""
    return await db.fetch_val(
        "SELECT MAX(created_at) FROM activities WHERE user_id = :u AND activity_type = :t"
        " AND resource_type = :r AND resource_id = :rid",
        {"u": user_id, "t": activity_type, "r": resource_type, "rid": resource_id},
    )
