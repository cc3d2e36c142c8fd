"""Preference SQL: the user's rows per category, the admin's defaults."""

from __future__ import annotations

import time
from typing import Any

from hub.db import Database, in_list, now_ms
from hub.preferences.routing import Preference

PREF_COLUMNS = (
    "category, enabled, delivery_methods, quiet_hours_start, quiet_hours_end, frequency,"
    " created_at, updated_at"
)


def to_preference(row: dict[str, Any], critical: bool | None = None) -> Preference:
    methods = row["delivery_methods"]
    return Preference(
        enabled=bool(row["enabled"]),
        delivery_methods=tuple(m for m in methods.split(",") if m) if methods else (),
        quiet_hours_start=row.get("quiet_hours_start"),
        quiet_hours_end=row.get("quiet_hours_end"),
        frequency=row["frequency"],
        critical=bool(row.get("critical")) if critical is None else critical,
    )


def _values(pref: Preference) -> dict[str, Any]:
    return {
        "enabled": bool(pref.enabled),
        "methods": ",".join(pref.delivery_methods),
        "qs": pref.quiet_hours_start,
        "qe": pref.quiet_hours_end,
        "freq": pref.frequency,
    }


async def user_rows(db: Database, user_id: str) -> dict[str, dict[str, Any]]:
    rows = await db.fetch_all(
        f"SELECT {PREF_COLUMNS} FROM notification_preferences WHERE user_id = :u",
        {"u": user_id},
    )
    return {r["category"]: r for r in rows}


async def many_users(
    db: Database, user_ids: list[str], categories: list[str]
) -> dict[str, dict[str, Preference]]:
    """For each user with rows: their preferences for each of `categories` and '*'.

    The planner's SQLite path; on Postgres it asks planner._lookups_pg instead.
    """
    if not user_ids:
        return {}
    categories = sorted({*categories, "*"})
    cols = f"user_id, {PREF_COLUMNS}"
    rows = []
    cat_marks, cat_params = in_list("c", categories)
    for start in range(0, len(user_ids), 500):
        marks, params = in_list("u", user_ids[start : start + 500])
        rows += await db.fetch_all(
            f"SELECT {cols} FROM notification_preferences"
            f" WHERE user_id IN ({marks}) AND category IN ({cat_marks})",
            {**params, **cat_params},
        )
    out: dict[str, dict[str, Preference]] = {}
    for r in rows:
        out.setdefault(r["user_id"], {})[r["category"]] = to_preference(r, critical=False)
    return out


async def save_user(
    db: Database, user_id: str, prefs: dict[str, Preference]
) -> dict[str, dict[str, Any]]:
    """Create or change the user's rows for these categories; returns the rows saved."""
    now = now_ms()
    saved: dict[str, dict[str, Any]] = {}
    for category, pref in prefs.items():
        row = await db.fetch_one(
            "INSERT INTO notification_preferences (user_id, category, enabled, delivery_methods,"
            " quiet_hours_start, quiet_hours_end, frequency, created_at, updated_at)"
            " VALUES (:u, :c, :enabled, :methods, :qs, :qe, :freq, :now, :now)"
            " ON CONFLICT (user_id, category) DO UPDATE SET enabled = excluded.enabled,"
            " delivery_methods = excluded.delivery_methods,"
            " quiet_hours_start = excluded.quiet_hours_start,"
            " quiet_hours_end = excluded.quiet_hours_end, frequency = excluded.frequency,"
            f" updated_at = excluded.updated_at RETURNING {PREF_COLUMNS}",
            {"u": user_id, "c": category, "now": now, **_values(pref)},
        )
        assert row is not None
        saved[category] = row
    return saved


async def reset_user(db: Database, user_id: str) -> int:
    removed = await db.fetch_all(
        "DELETE FROM notification_preferences WHERE user_id = :u RETURNING category",
        {"u": user_id},
    )
    return len(removed)


async def default_rows(db: Database) -> dict[str, dict[str, Any]]:
    rows = await db.fetch_all(
        f"SELECT {PREF_COLUMNS}, critical FROM preference_defaults ORDER BY category"
    )
    return {r["category"]: r for r in rows}


async def defaults(db: Database) -> dict[str, Preference]:
    return {c: to_preference(r) for c, r in (await default_rows(db)).items()}


DEFAULTS_CACHE_S = 5.0


async def cached_defaults(db: Database, max_age: float = DEFAULTS_CACHE_S) -> dict[str, Preference]:
    """`defaults()` for the send path: every send needs them and they rarely change, so
    they are read at most every `max_age` seconds. A change saved by this process
    applies at once (save_default clears this); one saved by another process within
    `max_age`."""
    hit = db.memo.get("preference_defaults")
    if hit is not None and time.monotonic() < hit[1]:
        return dict(hit[0])
    value = await defaults(db)
    db.memo["preference_defaults"] = (value, time.monotonic() + max_age)
    return dict(value)


async def save_default(db: Database, category: str, pref: Preference) -> None:
    now = now_ms()
    await db.execute(
        "INSERT INTO preference_defaults (category, enabled, delivery_methods,"
        " quiet_hours_start, quiet_hours_end, frequency, critical, created_at, updated_at)"
        " VALUES (:c, :enabled, :methods, :qs, :qe, :freq, :critical, :now, :now)"
        " ON CONFLICT (category) DO UPDATE SET enabled = excluded.enabled,"
        " delivery_methods = excluded.delivery_methods,"
        " quiet_hours_start = excluded.quiet_hours_start,"
        " quiet_hours_end = excluded.quiet_hours_end, frequency = excluded.frequency,"
        " critical = excluded.critical, updated_at = excluded.updated_at",
        {"c": category, "now": now, "critical": bool(pref.critical), **_values(pref)},
    )
    db.memo.pop("preference_defaults", None)


async def known_categories(db: Database, user_id: str) -> set[str]:
    """Categories a user may set: admin defaults, ones they received, ones they set."""
    rows = await db.fetch_all(
        "SELECT category FROM preference_defaults"
        " UNION SELECT DISTINCT category FROM notifications WHERE user_id = :u"
        " UNION SELECT category FROM notification_preferences WHERE user_id = :u",
        {"u": user_id},
    )
    return {r["category"] for r in rows} - {"*"}
