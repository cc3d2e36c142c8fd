"""The one event model of the hub, written to the outbox.

Every state change (a notification created, read, clicked, archived, deleted;
a delivery sent, delivered, failed, bounced, suppressed, deferred; an
unsubscribe) is recorded as an Event in the primary database's ``outbox``
table, in the same transaction as the change itself. The ingester moves the
outbox to ClickHouse in batches, each sent with a dedup token, so a re-sent
batch counts once; ``event_id`` is the events table's last line of defence.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from hub.db import Database, now_ms

EVENT_TYPES = (
    "created",
    "sent",
    "delivered",
    "read",
    "clicked",
    "archived",
    "unarchived",
    "deleted",
    "failed",
    "bounced",
    "suppressed",
    "deferred",
    "unsubscribed",
)


# The outbox columns, in the order the ingester reads them and the sink writes them.
EVENT_COLUMNS = (
    "event_id",
    "event_time",
    "event",
    "notification_id",
    "user_id",
    "category",
    "channel",
    "priority",
    "latency_ms",
    "error_code",
    "api_key_id",
    "metadata",
)


@dataclass
class Event:
    event: str
    notification_id: int | None = None
    user_id: str | None = None
    category: str | None = None
    channel: str | None = None
    priority: str | None = None
    latency_ms: int | None = None
    error_code: str | None = None
    api_key_id: str | None = None
    metadata: dict[str, Any] | None = None
    event_time: int = field(default_factory=now_ms)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.event not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event!r}")

    def row(self) -> dict[str, Any]:
        # a plain dict copy: dataclasses.asdict deep-copies and was the largest
        # single cost per delivery in profiles
        out = dict(self.__dict__)
        out["metadata"] = json.dumps(self.metadata) if self.metadata else None
        return out


_INTO = f"INSERT INTO outbox ({', '.join(EVENT_COLUMNS)})"
INSERT_SQL = f"{_INTO} VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})"
# the same for asyncpg's positional parameters (the Postgres bulk path)
_COPY_SQL = f"{_INTO} VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLUMNS) + 1))})"


async def record(db: Database, events: list[Event]) -> None:
    """Write events to the outbox; call inside the transaction of the change."""
    if not events:
        return
    rows = [e.row() for e in events]
    if db.is_postgres and len(rows) > 50:
        await _copy_rows(db, rows)
    else:
        await db.execute_many(INSERT_SQL, rows)


async def _copy_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    """Bulk path for Postgres: one executemany on the raw asyncpg connection."""
    raw = db.raw_connection()
    await raw.executemany(_COPY_SQL, [tuple(r[c] for c in EVENT_COLUMNS) for r in rows])
