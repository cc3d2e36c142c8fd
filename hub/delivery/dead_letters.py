"""The admin's view of the queue: listing rows (dead letters) and retrying them."""

from __future__ import annotations

import json
from typing import Any

from hub.db import Database, ms_to_iso
from hub.delivery.queue import ROW_COLUMNS


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    extra = row.get("extra")
    return {
        "id": row["id"],
        "notification_id": row["notification_id"],
        "user_id": row["user_id"],
        "channel": row["channel"],
        "status": row["status"],
        "category": row["category"],
        "priority": row["priority"],
        "reason": row["reason"],
        "attempts": row["attempts"],
        "next_attempt_at": ms_to_iso(row["next_attempt_at"]),
        "last_error": row["last_error"],
        "error_code": row["error_code"],
        "digest_period": row["digest_period"],
        "digest_delivery_id": row["digest_delivery_id"],
        "template": (json.loads(extra) or {}).get("template") if extra else None,
        "created_at": ms_to_iso(row["created_at"]),
        "updated_at": ms_to_iso(row["updated_at"]),
        "sent_at": ms_to_iso(row["sent_at"]),
    }


async def list_rows(
    db: Database,
    *,
    status: str | None,
    channel: str | None,
    user_id: str | None,
    notification_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    where: list[str] = []
    values: dict[str, Any] = {"n": limit}
    for col, val in (
        ("status", status),
        ("channel", channel),
        ("user_id", user_id),
        ("notification_id", notification_id),
    ):
        if val is not None:
            where.append(f"{col} = :{col}")
            values[col] = val
    if before_id is not None:
        where.append("id < :before")
        values["before"] = before_id
    sql = f"SELECT {ROW_COLUMNS} FROM deliveries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return await db.fetch_all(sql + " ORDER BY id DESC LIMIT :n", values)


async def retry(db: Database, delivery_id: int, now: int) -> dict[str, Any] | None:
    """Put a dead (failed/bounced/suppressed) row back in the queue with fresh attempts.

    Returns the row, or None if there is none; raises ValueError if it is not dead.
    """
    async with db.transaction():
        row = await db.fetch_one(
            f"SELECT {ROW_COLUMNS} FROM deliveries WHERE id = :id", {"id": delivery_id}
        )
        if row is None:
            return None
        if row["status"] not in ("failed", "bounced", "suppressed"):
            raise ValueError(row["status"])
        if row["channel"] == "email" and row["address"]:
            # an admin retry of a bounce means the address is believed good again
            await db.execute(
                "DELETE FROM email_suppressions WHERE address = :a",
                {"a": row["address"].lower()},
            )
        updated = await db.fetch_one(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = :now,"
            f" updated_at = :now WHERE id = :id RETURNING {ROW_COLUMNS}",
            {"id": delivery_id, "now": now},
        )
        if row["notification_id"] is None:
            # a digest email carries its items again
            await db.execute(
                "UPDATE deliveries SET status = 'deferred', updated_at = :now"
                " WHERE digest_delivery_id = :id",
                {"id": delivery_id, "now": now},
            )
    return updated
