"""Notification SQL: creating notifications (with idempotency) and reading them back."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from hub.db import Database, in_list, now_ms

IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000

COLUMNS = (
    "id, user_id, category, title, body, link, data, priority, is_read, read_at,"
    " archived, archived_at, clicked_at, created_at, api_key_id"
)


async def claim_idempotency_key(db: Database, api_key_id: str, scope: str, key: str) -> Any | None:
    """Inside a transaction: reserve `key`, or return what its first use produced.

    The reserving INSERT makes a concurrent retry wait on the first request's
    transaction (Postgres row lock, SQLite write lock) and then see its result.
    """
    now = now_ms()
    row = await db.fetch_one(
        "SELECT created_at, result FROM idempotency_keys"
        " WHERE api_key_id = :k AND scope = :s AND key = :key",
        {"k": api_key_id, "s": scope, "key": key},
    )
    if row is not None and now - row["created_at"] < IDEMPOTENCY_TTL_MS and row["result"]:
        return json.loads(row["result"])
    if row is not None:
        await db.execute(
            "DELETE FROM idempotency_keys WHERE api_key_id = :k AND scope = :s AND key = :key",
            {"k": api_key_id, "s": scope, "key": key},
        )
    inserted = await db.fetch_one(
        "INSERT INTO idempotency_keys (api_key_id, scope, key, created_at)"
        " VALUES (:k, :s, :key, :now) ON CONFLICT DO NOTHING RETURNING key",
        {"k": api_key_id, "s": scope, "key": key, "now": now},
    )
    if inserted is None:
        # a concurrent request committed the same key between our read and insert
        row = await db.fetch_one(
            "SELECT result FROM idempotency_keys WHERE api_key_id = :k AND scope = :s"
            " AND key = :key",
            {"k": api_key_id, "s": scope, "key": key},
        )
        return json.loads(row["result"]) if row and row["result"] else None
    return None


async def store_idempotency_result(
    db: Database, api_key_id: str, scope: str, key: str, result: Any
) -> None:
    await db.execute(
        "UPDATE idempotency_keys SET result = :r WHERE api_key_id = :k AND scope = :s"
        " AND key = :key",
        {"r": json.dumps(result), "k": api_key_id, "s": scope, "key": key},
    )


async def insert_notifications(
    db: Database,
    user_ids: list[str],
    *,
    category: str,
    title: str,
    body: str,
    link: str | None,
    data: dict[str, Any] | None,
    priority: str,
    api_key_id: str | None,
    created_at: int | None = None,
) -> list[dict[str, Any]]:
    """Insert one notification per user (inside a transaction); returns the rows.

    Also records a ``created`` event per notification in the outbox (the same
    row analytics.events.record writes), in the same statement on Postgres and
    one executemany on SQLite: 10,000 Event objects built in Python would cost
    several times the insert itself.
    """
    now = created_at or now_ms()
    data_json = json.dumps(data) if data is not None else None
    if db.is_postgres:
        # one statement for any number of recipients, outbox events included
        raw = db.raw_connection()
        records = await raw.fetch(
            "WITH ins AS (INSERT INTO notifications (user_id, category, title, body, link, data,"
            " priority, created_at, api_key_id)"
            " SELECT u, $2, $3, $4, $5, $6, $7, $8, $9 FROM unnest($1::text[]) WITH ORDINALITY"
            " AS t(u, n) ORDER BY n RETURNING id, user_id),"
            " ev AS (INSERT INTO outbox (event_id, event_time, event, notification_id, user_id,"
            " category, channel, priority, api_key_id)"
            " SELECT gen_random_uuid()::text, $8, 'created', id, user_id, $2, 'in_app', $7, $9"
            " FROM ins)"
            " SELECT id, user_id FROM ins ORDER BY id",
            user_ids,
            category,
            title,
            body,
            link,
            data_json,
            priority,
            now,
            api_key_id,
        )
        ids = [(r["id"], r["user_id"]) for r in records]
    else:
        raw = db.raw_connection()
        cursor = await raw.execute(
            "INSERT INTO notifications (user_id, category, title, body, link, data, priority,"
            " created_at, api_key_id) SELECT value, ?, ?, ?, ?, ?, ?, ?, ? FROM json_each(?)"
            " ORDER BY key RETURNING id, user_id",
            (
                category,
                title,
                body,
                link,
                data_json,
                priority,
                now,
                api_key_id,
                json.dumps(user_ids),
            ),
        )
        ids = sorted((r[0], r[1]) for r in await cursor.fetchall())
        await raw.executemany(
            "INSERT INTO outbox (event_id, event_time, event, notification_id, user_id, category,"
            " channel, priority, api_key_id) VALUES (?, ?, 'created', ?, ?, ?, 'in_app', ?, ?)",
            [
                (str(uuid.uuid4()), now, nid, uid, category, priority, api_key_id)
                for nid, uid in ids
            ],
        )
    shared = _new_values(category, title, body, link, data_json, priority, api_key_id, now)
    return [{"id": nid, "user_id": uid, **shared} for nid, uid in ids]


def _new_values(
    category: str,
    title: str,
    body: str,
    link: str | None,
    data_json: str | None,
    priority: str,
    api_key_id: str | None,
    now: int,
) -> dict[str, Any]:
    """A new row's columns but id and user_id (the same for every recipient of a send)."""
    return {
        "category": category,
        "title": title,
        "body": body,
        "link": link,
        "data": data_json,
        "priority": priority,
        "is_read": False,
        "read_at": None,
        "archived": False,
        "archived_at": None,
        "clicked_at": None,
        "created_at": now,
        "api_key_id": api_key_id,
    }


@dataclass(frozen=True)
class Draft:
    """One send's values: insert_notifications' parameters, name for name (see
    service._insert), and what insert_batch takes per send."""

    user_ids: list[str]
    category: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any] | None
    priority: str
    api_key_id: str | None


# A batch insert returns ids in insertion order; these many rows go per statement.
BATCH_CHUNK = 2000


async def insert_batch(db: Database, drafts: list[Draft]) -> list[list[dict[str, Any]]]:
    """insert_notifications for several sends in one statement (inside a transaction):
    each draft keeps its own values; returns each draft's rows, in draft order.

    Ids come back in insertion order (the statement inserts in the order given),
    which is what maps them to drafts; a mismatch raises rather than hand a
    caller another caller's rows (the transaction then rolls back).
    """
    now = now_ms()
    datas = [json.dumps(d.data) if d.data is not None else None for d in drafts]
    flat = [(n, u) for n, d in enumerate(drafts) for u in d.user_ids]
    ids: list[tuple[int, str]] = []
    for start in range(0, len(flat), BATCH_CHUNK):
        chunk = flat[start : start + BATCH_CHUNK]
        columns: list[list[Any]] = [
            [u for _, u in chunk],
            [drafts[n].category for n, _ in chunk],
            [drafts[n].title for n, _ in chunk],
            [drafts[n].body for n, _ in chunk],
            [drafts[n].link for n, _ in chunk],
            [datas[n] for n, _ in chunk],
            [drafts[n].priority for n, _ in chunk],
            [drafts[n].api_key_id for n, _ in chunk],
        ]
        if db.is_postgres:
            ids += await _insert_batch_pg(db, columns, now)
        else:
            ids += await _insert_batch_sqlite(db, columns, now)
    if [u for _, u in ids] != [u for _, u in flat]:
        raise RuntimeError("batch insert returned rows out of order")
    shared = [
        _new_values(d.category, d.title, d.body, d.link, data, d.priority, d.api_key_id, now)
        for d, data in zip(drafts, datas, strict=True)
    ]
    out: list[list[dict[str, Any]]] = [[] for _ in drafts]
    for (n, _), (nid, uid) in zip(flat, ids, strict=True):
        out[n].append({"id": nid, "user_id": uid, **shared[n]})
    return out


async def _insert_batch_pg(
    db: Database, columns: list[list[Any]], now: int
) -> list[tuple[int, str]]:
    # one round trip for the rows and their outbox events, whatever the batch size
    records = await db.raw_connection().fetch(
        "WITH src AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY"
        " AS t(user_id, category, title, body, link, data, priority, api_key_id, n)),"
        " ins AS (INSERT INTO notifications (user_id, category, title, body, link, data,"
        " priority, created_at, api_key_id)"
        " SELECT user_id, category, title, body, link, data, priority, $9, api_key_id"
        " FROM src ORDER BY n RETURNING id, user_id, category, priority, api_key_id),"
        " ev AS (INSERT INTO outbox (event_id, event_time, event, notification_id, user_id,"
        " category, channel, priority, api_key_id)"
        " SELECT gen_random_uuid()::text, $9, 'created', id, user_id, category, 'in_app',"
        " priority, api_key_id FROM ins)"
        " SELECT id, user_id FROM ins ORDER BY id",
        *columns,
        now,
    )
    return [(r["id"], r["user_id"]) for r in records]


async def _insert_batch_sqlite(
    db: Database, columns: list[list[Any]], now: int
) -> list[tuple[int, str]]:
    raw = db.raw_connection()
    rows = [list(r) for r in zip(*columns, strict=True)]
    cursor = await raw.execute(
        "INSERT INTO notifications (user_id, category, title, body, link, data, priority,"
        " created_at, api_key_id) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3,"
        " value ->> 4, value ->> 5, value ->> 6, ?, value ->> 7 FROM json_each(?)"
        " ORDER BY key RETURNING id, user_id, category, priority, api_key_id",
        (now, json.dumps(rows)),
    )
    inserted = sorted(await cursor.fetchall())
    await raw.executemany(
        "INSERT INTO outbox (event_id, event_time, event, notification_id, user_id, category,"
        " channel, priority, api_key_id) VALUES (?, ?, 'created', ?, ?, ?, 'in_app', ?, ?)",
        [
            (str(uuid.uuid4()), now, nid, uid, cat, prio, key)
            for nid, uid, cat, prio, key in inserted
        ],
    )
    return [(r[0], r[1]) for r in inserted]


async def get_many(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks, params = in_list("i", ids)
    return await db.fetch_all(
        f"SELECT {COLUMNS} FROM notifications WHERE id IN ({marks}) ORDER BY id", params
    )


async def get_for_user(db: Database, user_id: str, notification_id: int) -> dict[str, Any] | None:
    """The notification if it belongs to `user_id`; None otherwise (answer 404)."""
    return await db.fetch_one(
        f"SELECT {COLUMNS} FROM notifications WHERE id = :id AND user_id = :u",
        {"id": notification_id, "u": user_id},
    )


# ---------------------------------------------------------------- state changes


def _owned(user_id: str, ids: list[int] | None) -> tuple[str, dict[str, Any]]:
    """WHERE clause and params: the user's notifications, only `ids` unless None."""
    if ids is None:
        return "user_id = :u", {"u": user_id}
    marks, params = in_list("i", ids)
    return f"user_id = :u AND id IN ({marks})", {"u": user_id, **params}


async def update_owned(
    db: Database, user_id: str, ids: list[int] | None, set_sql: str, condition: str, now: int
) -> list[dict[str, Any]]:
    """UPDATE the user's notifications (all when ids is None) where `condition` holds.

    Returns the changed rows after the update; rows of other users are never
    touched, so a foreign id simply does not change anything.
    """
    if ids is not None and not ids:
        return []
    where, params = _owned(user_id, ids)
    if ":now" in set_sql:
        params["now"] = now
    rows = await db.fetch_all(
        f"UPDATE notifications SET {set_sql} WHERE {where} AND {condition} RETURNING {COLUMNS}",
        params,
    )
    return sorted(rows, key=lambda r: r["id"])


async def delete_owned(db: Database, user_id: str, ids: list[int] | None) -> list[dict[str, Any]]:
    """DELETE the user's notifications (all when ids is None); returns the deleted rows."""
    if ids is not None and not ids:
        return []
    where, params = _owned(user_id, ids)
    rows = await db.fetch_all(
        f"DELETE FROM notifications WHERE {where} RETURNING {COLUMNS}", params
    )
    return sorted(rows, key=lambda r: r["id"])


# an index-only range scan of notifications_user_state: only the unread entries
UNREAD_SQL = (
    "SELECT COUNT(*) FROM notifications WHERE user_id = :u AND NOT archived AND NOT is_read"
)


async def count_unread(db: Database, user_id: str) -> int:
    value = await db.fetch_val(UNREAD_SQL, {"u": user_id})
    return int(value or 0)
