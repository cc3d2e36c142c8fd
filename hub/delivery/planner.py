"""Turns new notifications into delivery rows, inside the creating transaction.

`plan()` is pure: for each notification it resolves the recipient's preference,
asks `routing.route` for per-channel decisions and keeps the ones that can be
carried out (there is an address, or devices for push). `enqueue()` does the
I/O around it: loads profiles, preferences, defaults and device owners in a
few bulk queries, inserts the rows and records ``deferred`` events.

in_app has no delivery row: the stored notification is the in-app delivery
(its ``created`` event is already in the outbox).

Addresses: email = the notification's ``email`` override, else the profile's;
sms = the profile's phone; webhook = the profile's webhook_url, else
HUB_WEBHOOK_URL; chat = the profile's chat_url (Apprise URL), else
HUB_CHAT_URL; push has none (the push sender looks up the user's devices).
A channel without an address (or push without devices) gets no row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.events import Event, record
from hub.db import Database, in_list, now_ms
from hub.preferences import store as prefstore
from hub.preferences.routing import Preference, resolve, route
from hub.users import store as users

INSERT_COLUMNS = (
    "notification_id",
    "user_id",
    "channel",
    "status",
    "category",
    "priority",
    "address",
    "extra",
    "reason",
    "attempts",
    "next_attempt_at",
    "digest_period",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Defaults:
    """The settings the planner needs (so plan() takes plain data)."""

    digest_hour: int = 9
    webhook_url: str = ""
    chat_url: str = ""


def address_for(
    channel: str, profile: dict[str, Any], override_email: str | None, defaults: Defaults
) -> str | None:
    if channel == "email":
        return override_email or profile.get("email")
    if channel == "sms":
        return profile.get("phone")
    if channel == "webhook":
        return profile.get("webhook_url") or defaults.webhook_url or None
    if channel == "chat":
        return profile.get("chat_url") or defaults.chat_url or None
    return None


def plan(
    notifications: list[dict[str, Any]],
    profiles: dict[str, dict[str, Any]],
    user_prefs: dict[str, dict[str, Preference]],
    category_defaults: dict[str, Preference],
    push_users: set[str],
    now: datetime,
    defaults: Defaults,
    override_email: str | None = None,
) -> tuple[list[dict[str, Any]], list[Event]]:
    """Delivery rows and ``deferred`` events for new notifications (pure)."""
    rows: list[dict[str, Any]] = []
    deferred: list[Event] = []
    now_ms_ = int(now.timestamp() * 1000)
    for n in notifications:
        uid = n["user_id"]
        profile = profiles.get(uid, {})
        pref = resolve(n["category"], user_prefs.get(uid, {}), category_defaults)
        decisions = route(
            n["priority"],
            pref,
            profile.get("timezone"),
            now,
            email_opt_out=bool(profile.get("email_opt_out")),
            digest_hour=(
                profile["digest_hour"]
                if profile.get("digest_hour") is not None
                else defaults.digest_hour
            ),
        )
        for d in decisions:
            if d.action == "drop" or d.channel == "in_app":
                continue
            if d.channel == "push":
                if uid not in push_users:
                    continue
                address = None
            else:
                address = address_for(d.channel, profile, override_email, defaults)
                if not address:
                    continue
            due = int(d.until.timestamp() * 1000) if d.until else now_ms_
            status = "pending" if d.action == "send" else "deferred"
            rows.append(
                {
                    "notification_id": n["id"],
                    "user_id": uid,
                    "channel": d.channel,
                    "status": status,
                    "category": n["category"],
                    "priority": n["priority"],
                    "address": address,
                    "extra": None,
                    "reason": d.reason,
                    "attempts": 0,
                    "next_attempt_at": due,
                    "digest_period": d.period,
                    "created_at": now_ms_,
                    "updated_at": now_ms_,
                }
            )
            if status == "deferred":
                deferred.append(
                    Event(
                        "deferred",
                        notification_id=n["id"],
                        user_id=uid,
                        category=n["category"],
                        channel=d.channel,
                        priority=n["priority"],
                        event_time=now_ms_,
                        metadata={"reason": d.reason, "until": due},
                    )
                )
    return rows, deferred


async def push_users(db: Database, user_ids: list[str]) -> set[str]:
    """The users among `user_ids` with at least one push device (SQLite; see _lookups_pg)."""
    if not user_ids:
        return set()
    found: set[str] = set()
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        marks, params = in_list("u", chunk)
        rows = await db.fetch_all(
            f"SELECT DISTINCT user_id FROM devices WHERE user_id IN ({marks})", params
        )
        found |= {r["user_id"] for r in rows}
    return found


async def insert_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if db.is_postgres and len(rows) > 20:
        raw = db.raw_connection()
        marks = ", ".join(f"${i}" for i in range(1, len(INSERT_COLUMNS) + 1))
        await raw.executemany(
            f"INSERT INTO deliveries ({', '.join(INSERT_COLUMNS)}) VALUES ({marks})",
            [tuple(r[c] for c in INSERT_COLUMNS) for r in rows],
        )
        return
    await db.execute_many(
        f"INSERT INTO deliveries ({', '.join(INSERT_COLUMNS)})"
        f" VALUES ({', '.join(':' + c for c in INSERT_COLUMNS)})",
        rows,
    )


async def enqueue(state: Any, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Plan deliveries for `rows` (new notifications); `extra` holds e.g. an email override."""
    await enqueue_many(state, [(rows, extra)])


async def enqueue_many(
    state: Any, groups: list[tuple[list[dict[str, Any]], dict[str, Any]]]
) -> None:
    """`enqueue` for several sends at once, each (rows, extra), written together.

    The group commit of POST /api/notifications plans a whole batch of sends
    with one query per table instead of four queries per send.
    """
    everything = [r for rows, _ in groups for r in rows]
    if not everything:
        return
    db: Database = state.db
    settings = state.settings
    user_ids = list(dict.fromkeys(r["user_id"] for r in everything))
    categories = sorted({r["category"] for r in everything})
    if db.is_postgres:
        profiles, user_prefs, pushable = await _lookups_pg(db, user_ids, categories)
    else:
        profiles = await users.get_many(db, user_ids)
        user_prefs = await prefstore.many_users(db, user_ids, categories)
        pushable = await push_users(db, user_ids)
    category_defaults = await prefstore.cached_defaults(db)
    now = datetime.fromtimestamp(now_ms() / 1000, UTC)
    defaults = Defaults(settings.digest_hour, settings.webhook_url, settings.chat_url)
    planned: list[dict[str, Any]] = []
    deferred: list[Event] = []
    for rows, extra in groups:
        more, later = plan(
            rows,
            profiles,
            user_prefs,
            category_defaults,
            pushable,
            now,
            defaults,
            override_email=(extra or {}).get("email"),
        )
        planned += more
        deferred += later
    await insert_rows(db, planned)
    await record(db, deferred)


async def _lookups_pg(
    db: Database, user_ids: list[str], categories: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Preference]], set[str]]:
    """Profiles, preferences and push users in one round trip (Postgres).

    The same as users.get_many, prefstore.many_users and push_users, asked as one
    UNION: each query inside the send transaction waits a full event-loop pass for
    its answer, which under load is what a batch of sends spends most time on.
    """
    sql = (
        "SELECT 'p' AS kind, user_id, row_to_json(p)::text AS j FROM user_profiles p"
        " WHERE user_id = ANY($1::text[])"
        " UNION ALL SELECT 'q', user_id, row_to_json(q)::text FROM notification_preferences q"
        " WHERE user_id = ANY($1::text[]) AND category = ANY($2::text[])"
        " UNION ALL SELECT DISTINCT 'd', user_id, NULL FROM devices"
        " WHERE user_id = ANY($1::text[])"
    )
    records = await db.raw_connection().fetch(sql, user_ids, [*categories, "*"])
    profiles: dict[str, dict[str, Any]] = {}
    prefs: dict[str, dict[str, Preference]] = {}
    pushable: set[str] = set()
    for r in records:
        kind, uid = r["kind"], r["user_id"]
        if kind == "p":
            profiles[uid] = json.loads(r["j"])
        elif kind == "q":
            row = json.loads(r["j"])
            prefs.setdefault(uid, {})[row["category"]] = prefstore.to_preference(
                row, critical=False
            )
        else:
            pushable.add(uid)
    return profiles, prefs, pushable
