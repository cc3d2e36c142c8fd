"""Reads of the notification center: listing (keyset or offset), totals,
categories, polling and export batches. SQL is built from filters.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from hub.db import Database
from hub.notifications import filters
from hub.notifications.cursor import Cursor
from hub.notifications.filters import FilterQuery, Where
from hub.notifications.store import COLUMNS

Row = dict[str, Any]

EXPORT_BATCH = 500


def _and(*parts: str) -> str:
    return " AND ".join(p for p in parts if p)


def listing_sql(w: Where, sort: str, cursor: Cursor | None, limit: int, skip: int) -> Where:
    """SELECT for one page of the center (pure); `limit` rows after `skip` and `cursor`."""
    params = {**w.params, "lim": limit, "skip": skip}
    order = filters.ORDER_BY[sort]
    if sort == "unread_first" and cursor is not None and not cursor.is_read:
        # "(is_read OR id < :cid)" is no index range; as two ranges each is one
        # ordered index scan of (user_id, archived, is_read, id DESC).
        params.update(cid=cursor.id, inner=limit + skip)
        sql = (
            f"SELECT * FROM (SELECT {COLUMNS} FROM notifications"
            f" WHERE {_and(w.sql, 'NOT is_read', 'id < :cid')} ORDER BY id DESC LIMIT :inner) a"
            f" UNION ALL SELECT * FROM (SELECT {COLUMNS} FROM notifications"
            f" WHERE {_and(w.sql, 'is_read')} ORDER BY id DESC LIMIT :inner) b"
            f" ORDER BY {order} LIMIT :lim OFFSET :skip"
        )
        return Where(sql, params)
    k = filters.keyset(cursor)
    params.update(k.params)
    sql = (
        f"SELECT {COLUMNS} FROM notifications WHERE {_and(w.sql, k.sql)}"
        f" ORDER BY {order} LIMIT :lim OFFSET :skip"
    )
    return Where(sql, params)


async def page(
    db: Database, user_id: str, q: filters.CenterQuery, cursor: Cursor | None
) -> tuple[list[Row], bool]:
    """One page and whether more rows follow it."""
    w = filters.where(user_id, q)
    sql = listing_sql(w, q.sort, cursor, q.limit + 1, q.skip)
    rows = await db.fetch_all(sql.sql, sql.params)
    return rows[: q.limit], len(rows) > q.limit


def total_sql(w: Where) -> Where:
    return Where(f"SELECT COUNT(*) FROM notifications WHERE {w.sql}", w.params)


def categories_sql(w: Where) -> Where:
    return Where(
        "SELECT category, COUNT(*) AS total,"
        " SUM(CASE WHEN is_read THEN 0 ELSE 1 END) AS unread"
        f" FROM notifications WHERE {w.sql} GROUP BY category ORDER BY category",
        w.params,
    )


async def total(db: Database, user_id: str, f: FilterQuery) -> int:
    sql = total_sql(filters.where(user_id, f))
    return int(await db.fetch_val(sql.sql, sql.params))


async def categories(db: Database, user_id: str, archived: bool | None) -> list[Row]:
    sql = categories_sql(filters.where(user_id, FilterQuery(archived=archived)))
    rows = await db.fetch_all(sql.sql, sql.params)
    return [
        {"category": r["category"], "total": int(r["total"]), "unread": int(r["unread"] or 0)}
        for r in rows
    ]


async def since(db: Database, user_id: str, since_id: int, limit: int) -> list[Row]:
    """The user's notifications after `since_id`, oldest first (the polling fallback)."""
    return await db.fetch_all(
        f"SELECT {COLUMNS} FROM notifications WHERE user_id = :u AND id > :since"
        " ORDER BY id ASC LIMIT :lim",
        {"u": user_id, "since": since_id, "lim": limit},
    )


async def export_rows(db: Database, user_id: str, f: FilterQuery) -> AsyncIterator[Row]:
    """Every matching row, newest first, in keyset batches: no connection or
    transaction stays open while the client reads the stream."""
    w = filters.where(user_id, f)
    cursor: Cursor | None = None
    while True:
        sql = listing_sql(w, "newest", cursor, EXPORT_BATCH, 0)
        rows = await db.fetch_all(sql.sql, sql.params)
        for row in rows:
            yield row
        if len(rows) < EXPORT_BATCH:
            return
        cursor = Cursor(sort="newest", id=int(rows[-1]["id"]))
