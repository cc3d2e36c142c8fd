"""SQL for push devices: register (upsert by token), list, remove, dead-token cleanup."""

from __future__ import annotations

from hub.db import Database, Row, in_list, now_ms

PLATFORMS = ("ios", "android", "web")
MAX_PER_USER = 20  # a user's devices beyond the newest 20 are dropped on registration

_COLUMNS = "token, user_id, platform, app, created_at, updated_at"


async def register(db: Database, user_id: str, platform: str, token: str, app: str | None) -> Row:
    """Add the device, or move an existing token to `user_id` (a device changed hands).

    The token is the primary key, so a token is never listed twice; `created_at`
    restarts when the owner changes because it is a new registration for them.
    """
    now = now_ms()
    async with db.transaction():
        await _upsert(db, user_id, platform, token, app, now)
        # keep the newest few: a push fans out to every device of the user
        await db.execute(
            "DELETE FROM devices WHERE user_id = :u AND token <> :t AND token NOT IN"
            " (SELECT token FROM devices WHERE user_id = :u"
            "  ORDER BY token = :t DESC, updated_at DESC, token LIMIT :keep)",
            {"u": user_id, "t": token, "keep": MAX_PER_USER},
        )
        row = await db.fetch_one(f"SELECT {_COLUMNS} FROM devices WHERE token = :t", {"t": token})
    assert row is not None
    return row


async def _upsert(
    db: Database, user_id: str, platform: str, token: str, app: str | None, now: int
) -> None:
    await db.execute(
        "INSERT INTO devices (token, user_id, platform, app, created_at, updated_at)"
        " VALUES (:token, :user_id, :platform, :app, :now, :now)"
        " ON CONFLICT (token) DO UPDATE SET"
        " created_at = CASE WHEN devices.user_id = excluded.user_id"
        "   THEN devices.created_at ELSE excluded.created_at END,"
        " user_id = excluded.user_id, platform = excluded.platform,"
        " app = excluded.app, updated_at = excluded.updated_at",
        {"token": token, "user_id": user_id, "platform": platform, "app": app, "now": now},
    )


async def list_for_user(db: Database, user_id: str) -> list[Row]:
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM devices WHERE user_id = :u ORDER BY created_at, token",
        {"u": user_id},
    )


async def remove(db: Database, user_id: str, token: str) -> bool:
    """Remove the user's device; False when the token is unknown or someone else's."""
    async with db.transaction():
        found = await db.fetch_val(
            "DELETE FROM devices WHERE token = :t AND user_id = :u RETURNING token",
            {"t": token, "u": user_id},
        )
    return found is not None


async def remove_dead(db: Database, user_id: str, tokens: list[str]) -> None:
    """Drop tokens a push service reported dead (only while still owned by `user_id`)."""
    if tokens:
        await db.execute_many(
            "DELETE FROM devices WHERE token = :t AND user_id = :u",
            [{"t": t, "u": user_id} for t in tokens],
        )


async def list_for_users(db: Database, user_ids: list[str]) -> dict[str, list[Row]]:
    """Devices of many users in one query, by user id (users without devices absent)."""
    out: dict[str, list[Row]] = {}
    if db.is_postgres:
        # the push sender asks once per batch: one prepared statement with an array
        # instead of compiling an IN list of a hundred parameters each time
        async with db.raw() as conn:
            records = await conn.fetch(
                f"SELECT {_COLUMNS} FROM devices WHERE user_id = ANY($1::text[])"  # noqa: S608
                " ORDER BY created_at, token",
                user_ids,
            )
        for record in records:
            out.setdefault(record["user_id"], []).append(dict(record))
        return out
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        marks, params = in_list("u", chunk)
        rows = await db.fetch_all(
            f"SELECT {_COLUMNS} FROM devices WHERE user_id IN ({marks})"  # noqa: S608
            " ORDER BY created_at, token",
            params,
        )
        for row in rows:
            out.setdefault(row["user_id"], []).append(row)
    return out
