"""The durable delivery queue in the primary database: claim, finish, retry, dead letter.

A row is due when its status is pending/deferred (or sending with an expired
lease) and ``next_attempt_at`` has passed. Claiming sets status ``sending``,
counts the attempt and moves ``next_attempt_at`` to the lease expiry: if the
worker dies mid-send, the row becomes due again when the lease runs out and
another worker sends it (at-least-once; nothing is lost). Finishing writes the
outcome only while the worker still holds the claim (same attempt number), so
a worker that overran its lease cannot overwrite the newer attempt.

Postgres claims with ``FOR UPDATE SKIP LOCKED`` so concurrent workers and
processes take disjoint rows without waiting; SQLite takes the database write
lock (BEGIN IMMEDIATE) for the one UPDATE … RETURNING, which serialises claims.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.events import Event, record
from hub.db import Database, in_list
from hub.delivery.base import SendResult
from hub.delivery.suppressions import suppress

DUE = (
    "status IN ('pending', 'deferred', 'sending') AND digest_period IS NULL"
    " AND next_attempt_at <= :now"
)
ROW_COLUMNS = (
    "id, notification_id, user_id, channel, status, category, priority, address, extra,"
    " reason, attempts, next_attempt_at, last_error, error_code, digest_period,"
    " digest_delivery_id, created_at, updated_at, sent_at"
)
# outbox.latency_ms is a 32-bit INTEGER; a retry of a month-old row would overflow it
MAX_LATENCY_MS = 2**31 - 1


def latency(now: int, since: int | None) -> int:
    return min(MAX_LATENCY_MS, max(0, now - (since or now)))


def backoff_ms(
    attempt: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> int:
    """Delay before retry number `attempt` (1-based): base·2^(attempt-1), capped,
    with "equal jitter" (half fixed, half random) so retries of one outage spread out."""
    delay = min(max_s, base_s * (2 ** max(0, attempt - 1)))
    return int((delay / 2 + rand() * delay / 2) * 1000)


@dataclass(frozen=True)
class Outcome:
    """What finishing one attempt does to its row (pure decision)."""

    status: str
    event: str
    next_attempt_at: int | None = None
    retry: bool = False


def decide(
    result: SendResult,
    attempts: int,
    max_attempts: int,
    now: int,
    base_s: float,
    max_s: float,
    rand: Callable[[], float] = random.random,
) -> Outcome:
    """The row's next state after an attempt (`attempts` counts this one)."""
    if result.outcome in ("sent", "delivered", "suppressed", "bounced"):
        return Outcome(result.outcome, result.outcome)
    if result.transient and attempts < max_attempts:
        return Outcome(
            "pending", "deferred", now + backoff_ms(attempts, base_s, max_s, rand), retry=True
        )
    return Outcome("failed", "failed")


NOTE_COLUMNS = "n.title, n.body, n.link, n.data, n.created_at AS n_created_at"


async def claim(db: Database, limit: int, now: int, lease_ms: int) -> list[dict[str, Any]]:
    """Take up to `limit` due rows for this worker (status → sending).

    Each row comes with its notification's title, body, link, data and
    n_created_at (NULL for digest emails).
    """
    if db.is_postgres:
        cols = ", ".join(f"d.{c.strip()}" for c in ROW_COLUMNS.split(","))
        async with db.transaction():
            # one round trip: claim and read the notifications in the same statement
            records = await db.raw_connection().fetch(
                "WITH c AS (UPDATE deliveries d SET status = 'sending',"
                " attempts = d.attempts + 1, next_attempt_at = $2, updated_at = $1"
                " FROM (SELECT id FROM deliveries WHERE status IN ('pending', 'deferred',"
                " 'sending') AND digest_period IS NULL AND next_attempt_at <= $1"
                " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due"
                f" WHERE d.id = due.id RETURNING {cols})"
                f" SELECT c.*, {NOTE_COLUMNS} FROM c"
                " LEFT JOIN notifications n ON n.id = c.notification_id",
                now,
                now + lease_ms,
                limit,
            )
            return [dict(r) for r in records]
    async with db.transaction():
        rows = await db.fetch_all(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,"
            " next_attempt_at = :lease, updated_at = :now"
            f" WHERE id IN (SELECT id FROM deliveries WHERE {DUE}"
            f" ORDER BY next_attempt_at LIMIT :n) RETURNING {ROW_COLUMNS}",
            {"now": now, "lease": now + lease_ms, "n": limit},
        )
        ids = sorted({r["notification_id"] for r in rows if r["notification_id"]})
        notes: dict[int, dict[str, Any]] = {}
        if ids:
            marks, params = in_list("i", ids)
            for n in await db.fetch_all(
                f"SELECT n.id, {NOTE_COLUMNS} FROM notifications n WHERE n.id IN ({marks})",
                params,
            ):
                notes[n.pop("id")] = n
    empty = {"title": None, "body": None, "link": None, "data": None, "n_created_at": None}
    return [{**r, **notes.get(r["notification_id"], empty)} for r in rows]


@dataclass
class Finished:
    row: dict[str, Any]  # the claimed row
    result: SendResult
    created_at: int  # when the notification was created (for latency)


UPDATE_SQL = (
    "UPDATE deliveries SET status = :status, next_attempt_at = :next,"
    " last_error = :err, error_code = :code, updated_at = :now,"
    " sent_at = COALESCE(:sent, sent_at)"
    " WHERE id = :id AND status = 'sending' AND attempts = :attempts"
)


# Postgres: the whole batch in one statement (arrays unnested), one plan, one round trip;
# per-row UPDATEs (even pipelined by executemany) cost Postgres a statement each
UNNEST_UPDATE_SQL = (
    "UPDATE deliveries d SET status = u.status, next_attempt_at = u.next,"
    " last_error = u.err, error_code = u.code, updated_at = $1,"
    " sent_at = COALESCE(u.sent, d.sent_at)"
    " FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::bigint[], $6::text[],"
    " $7::text[], $8::bigint[]) AS u(id, attempts, status, next, err, code, sent)"
    " WHERE d.id = u.id AND d.status = 'sending' AND d.attempts = u.attempts"
)
UNNEST_ORDER = ("id", "attempts", "status", "next", "err", "code", "sent")


async def _update_many(db: Database, updates: list[dict[str, Any]], now: int) -> None:
    if db.is_postgres:
        columns = [[u[k] for u in updates] for k in UNNEST_ORDER]
        await db.raw_connection().execute(UNNEST_UPDATE_SQL, now, *columns)
    else:
        await db.execute_many(UPDATE_SQL, updates)


async def finish(
    db: Database,
    done: list[Finished],
    now: int,
    max_attempts: int,
    base_s: float,
    max_s: float,
    rand: Callable[[], float] = random.random,
) -> None:
    """Record the outcomes of one batch and their events, in one transaction."""
    if not done:
        return
    updates: list[dict[str, Any]] = []
    events: list[Event] = []
    bounced: list[str] = []
    digests: dict[int, Outcome] = {}
    for f in done:
        row, res = f.row, f.result
        out = decide(res, row["attempts"], max_attempts, now, base_s, max_s, rand)
        updates.append(
            {
                "id": row["id"],
                "attempts": row["attempts"],
                "status": out.status,
                "next": out.next_attempt_at if out.next_attempt_at is not None else now,
                "err": (res.error or "")[:1000] or None,
                "code": res.error_code,
                "now": now,
                "sent": now if out.status in ("sent", "delivered") else None,
            }
        )
        if out.status == "bounced" and row["channel"] == "email" and row["address"]:
            bounced.append(row["address"].lower())
        if row["notification_id"] is None:
            digests[row["id"]] = out
            continue
        events.append(
            Event(
                out.event,
                notification_id=row["notification_id"],
                user_id=row["user_id"],
                category=row["category"],
                channel=row["channel"],
                priority=row["priority"],
                latency_ms=latency(now, f.created_at),
                error_code=res.error_code,
                event_time=now,
                metadata=_metadata(row, res, out),
            )
        )
    async with db.transaction():
        await _update_many(db, updates, now)
        for address in sorted(set(bounced)):
            await suppress(db, address, "smtp_5xx", now)
        events += await _finish_digests(db, digests, now)
        await record(db, events)


def _metadata(row: dict[str, Any], res: SendResult, out: Outcome) -> dict[str, Any] | None:
    meta: dict[str, Any] = {"attempt": row["attempts"]}
    if out.retry:
        meta["retry_at"] = out.next_attempt_at
    if res.error:
        meta["error"] = res.error[:300]
    for key in ("removed_tokens", "devices", "message_id"):
        if key in res.info:
            meta[key] = res.info[key]
    return meta


async def _finish_digests(db: Database, digests: dict[int, Outcome], now: int) -> list[Event]:
    """A digest email's outcome is each carried notification's outcome."""
    events: list[Event] = []
    for digest_id, out in digests.items():
        if out.retry:
            continue
        items = await db.fetch_all(
            "SELECT d.id, d.notification_id, d.user_id, d.category, d.priority,"
            " n.created_at AS n_created FROM deliveries d"
            " LEFT JOIN notifications n ON n.id = d.notification_id"
            " WHERE d.digest_delivery_id = :id AND d.status = 'deferred'",
            {"id": digest_id},
        )
        await db.execute(
            "UPDATE deliveries SET status = :s, updated_at = :now,"
            " sent_at = CASE WHEN :s IN ('sent', 'delivered') THEN :now ELSE sent_at END"
            " WHERE digest_delivery_id = :id AND status = 'deferred'",
            {"s": out.status, "now": now, "id": digest_id},
        )
        for item in items:
            events.append(
                Event(
                    out.event,
                    notification_id=item["notification_id"],
                    user_id=item["user_id"],
                    category=item["category"],
                    channel="email",
                    priority=item["priority"],
                    latency_ms=latency(now, item["n_created"]),
                    event_time=now,
                    metadata={"digest_delivery_id": digest_id},
                )
            )
    return events
