"""Digests: notifications routed to a daily/weekly digest go out as one email.

The planner stores each such notification as an email delivery row with
status ``deferred``, ``digest_period`` daily|weekly and ``next_attempt_at`` =
the user's next local digest hour. When that time has passed, `collect_due`
groups the rows per (user, period, due time), claims the group by inserting
its key into ``digests`` (primary key: a second worker's insert conflicts and
it moves on), and creates one email delivery row carrying the items. The
queue then sends it like any other email; its outcome becomes each item's.

Rows that arrive for a group already collected (a race at the due instant)
are moved 1 ms later so they form their own, small digest instead of waiting
forever.
"""

from __future__ import annotations

import json
from typing import Any

from hub.db import Database, in_list
from hub.users import store as users

MAX_ITEMS = 100  # listed in one email; the total is still shown
GROUP_LIMIT = 200  # groups handled per call


async def due_groups(db: Database, now: int, limit: int = GROUP_LIMIT) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT user_id, digest_period, next_attempt_at AS due_at, COUNT(*) AS n"
        " FROM deliveries WHERE status = 'deferred' AND digest_period IS NOT NULL"
        " AND digest_delivery_id IS NULL AND next_attempt_at <= :now"
        " GROUP BY user_id, digest_period, next_attempt_at"
        " ORDER BY next_attempt_at LIMIT :n",
        {"now": now, "n": limit},
    )


async def collect_group(db: Database, group: dict[str, Any], now: int) -> int | None:
    """Claim one group and create its digest email; returns its delivery id, or
    None when another worker had it."""
    key = {"u": group["user_id"], "p": group["digest_period"], "due": group["due_at"]}
    async with db.transaction():
        claimed = await db.fetch_one(
            "INSERT INTO digests (user_id, period, due_at, created_at)"
            " VALUES (:u, :p, :due, :now) ON CONFLICT DO NOTHING RETURNING user_id",
            {**key, "now": now},
        )
        if claimed is None:
            # late rows for a digest already made: give them their own key
            await db.execute(
                "UPDATE deliveries SET next_attempt_at = next_attempt_at + 1, updated_at = :now"
                " WHERE user_id = :u AND digest_period = :p AND next_attempt_at = :due"
                " AND status = 'deferred' AND digest_delivery_id IS NULL",
                {**key, "now": now},
            )
            return None
        items = await db.fetch_all(
            "SELECT d.id, d.address, d.priority, n.id AS notification_id, n.category, n.title,"
            " n.body, n.link, n.created_at FROM deliveries d"
            " JOIN notifications n ON n.id = d.notification_id"
            " WHERE d.user_id = :u AND d.digest_period = :p AND d.next_attempt_at = :due"
            " AND d.status = 'deferred' AND d.digest_delivery_id IS NULL ORDER BY n.id DESC",
            key,
        )
        if not items:
            return None
        profile = await users.get(db, group["user_id"]) or {}
        address = profile.get("email") or items[0]["address"]
        period = group["digest_period"]
        extra = {
            "template": f"{period}_digest",
            "period": period,
            "due_at": group["due_at"],
            "total": len(items),
            "items": [
                {
                    "notification_id": i["notification_id"],
                    "category": i["category"],
                    "title": i["title"],
                    "body": i["body"],
                    "link": i["link"],
                }
                for i in items[:MAX_ITEMS]
            ],
        }
        digest_id = await _insert_digest_row(db, group["user_id"], address, extra, now)
        marks, params = in_list("i", [i["id"] for i in items])
        await db.execute(
            f"UPDATE deliveries SET digest_delivery_id = :d, updated_at = :now"
            f" WHERE id IN ({marks})",
            {**params, "d": digest_id, "now": now},
        )
        await db.execute(
            "UPDATE digests SET delivery_id = :d, item_count = :c"
            " WHERE user_id = :u AND period = :p AND due_at = :due",
            {**key, "d": digest_id, "c": len(items)},
        )
    return digest_id


async def _insert_digest_row(
    db: Database, user_id: str, address: str | None, extra: dict[str, Any], now: int
) -> int:
    row = await db.fetch_one(
        "INSERT INTO deliveries (notification_id, user_id, channel, status, category, priority,"
        " address, extra, reason, attempts, next_attempt_at, created_at, updated_at)"
        " VALUES (NULL, :u, 'email', 'pending', 'digest', 'normal', :a, :x, :r, 0, :now, :now,"
        " :now) RETURNING id",
        {
            "u": user_id,
            "a": address,
            "x": json.dumps(extra),
            "r": f"digest_{extra['period']}",
            "now": now,
        },
    )
    assert row is not None
    return int(row["id"])


async def collect_due(db: Database, now: int) -> list[int]:
    """Create the digest emails that are due; returns their delivery ids."""
    made = []
    for group in await due_groups(db, now):
        digest_id = await collect_group(db, group, now)
        if digest_id is not None:
            made.append(digest_id)
    return made
