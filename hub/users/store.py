"""User profile SQL, and erasure of everything a user left in the primary DB."""

from __future__ import annotations

from typing import Any

from hub.db import Database, in_list, now_ms

COLUMNS = (
    "user_id, email, phone, timezone, locale, webhook_url, chat_url, email_opt_out,"
    " digest_hour, created_at, updated_at"
)
SETTABLE = {
    "email",
    "phone",
    "timezone",
    "locale",
    "webhook_url",
    "chat_url",
    "email_opt_out",
    "digest_hour",
}
# The outbox is the analytics history; it keeps ids only and ages out with the
# analytics TTL, and deleting from it would break ingestion's idempotency.
KEEP_ON_ERASE = {"outbox", "schema_migrations"}


async def get(db: Database, user_id: str) -> dict[str, Any] | None:
    return await db.fetch_one(
        f"SELECT {COLUMNS} FROM user_profiles WHERE user_id = :u", {"u": user_id}
    )


async def get_many(db: Database, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Profiles by user id (missing users are absent).

    The planner's SQLite path; on Postgres it asks planner._lookups_pg instead.
    """
    if not user_ids:
        return {}
    rows = []
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        marks, params = in_list("u", chunk)
        rows += await db.fetch_all(
            f"SELECT {COLUMNS} FROM user_profiles WHERE user_id IN ({marks})", params
        )
    return {r["user_id"]: r for r in rows}


async def upsert(db: Database, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Create the profile or change the given columns; returns the row."""
    unknown = set(changes) - SETTABLE
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    now = now_ms()
    values: dict[str, Any] = {"u": user_id, "now": now, **changes}
    cols = list(changes)
    if "email_opt_out" in values:
        values["email_opt_out"] = bool(values["email_opt_out"])
    insert_cols = ", ".join(["user_id", "created_at", "updated_at", *cols])
    insert_vals = ", ".join([":u", ":now", ":now", *(f":{c}" for c in cols)])
    updates = ", ".join(["updated_at = :now", *(f"{c} = excluded.{c}" for c in cols)])
    await db.execute(
        f"INSERT INTO user_profiles ({insert_cols}) VALUES ({insert_vals})"
        f" ON CONFLICT (user_id) DO UPDATE SET {updates}",
        values,
    )
    row = await get(db, user_id)
    assert row is not None
    return row


async def user_tables(db: Database) -> list[str]:
    """Every table with a user_id column (found in the schema, so tables added
    later by other parts are covered), except the ones erasure keeps."""
    if db.is_postgres:
        rows = await db.fetch_all(
            "SELECT c.table_name AS name FROM information_schema.columns c"
            " JOIN information_schema.tables t ON t.table_name = c.table_name"
            " AND t.table_schema = c.table_schema"
            " WHERE c.column_name = 'user_id' AND c.table_schema = current_schema()"
            " AND t.table_type = 'BASE TABLE'"
        )
    else:
        rows = await db.fetch_all(
            "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p"
            " WHERE m.type = 'table' AND p.name = 'user_id'"
        )
    return sorted({r["name"] for r in rows} - KEEP_ON_ERASE)


async def erase(db: Database, user_id: str) -> dict[str, int]:
    """Delete every row of the user from every user table, in one transaction.

    Returns the number of rows removed per table (tables with none left out).
    """
    removed: dict[str, int] = {}
    async with db.transaction():
        for table in await user_tables(db):
            # table names come from the schema itself, never from the request
            n = await db.fetch_val(
                f'SELECT COUNT(*) FROM "{table}" WHERE user_id = :u',  # noqa: S608
                {"u": user_id},
            )
            if n:
                await db.execute(f'DELETE FROM "{table}" WHERE user_id = :u', {"u": user_id})
                removed[table] = int(n)
    return removed
