"""Outbox → batches → analytics store, in order, counted once.

A batch is *claimed* by stamping ``batch_id`` on its outbox rows (batch_id =
the largest row id in it, unique since each row joins one batch), *sent* as
one Arrow insert whose ``insert_deduplication_token`` is ``hub-outbox-<epoch>-<batch_id>``,
then *pruned* (deleted) once the store confirmed. A crash or timeout between
send and prune leaves the claimed rows in place; the next round re-sends
exactly those rows with the same token and ClickHouse drops the duplicate
block, in the events table and in every rollup fed from it.

Batches close by size (HUB_INGEST_BATCH_SIZE) or by time (HUB_INGEST_INTERVAL).
While the store is down the hub keeps writing the outbox; the ingester backs
off and drains the backlog when the store is back. One ingester at a time
holds a lease in ``analytics_ingest`` so several worker processes never race.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.events import EVENT_COLUMNS
from analytics.sink import Sink, SinkError
from hub.db import Database, ms_to_iso, now_ms
from hub.settings import Settings

log = logging.getLogger("hub.analytics")

LEASE_MS = 30_000
MAX_BACKOFF = 30.0
LIVE_CHANNEL = "admin:live"

_SELECT_BATCH = f"SELECT {', '.join(EVENT_COLUMNS)} FROM outbox WHERE batch_id = ? ORDER BY id"  # noqa: S608


@dataclass
class IngestStats:
    batches: int = 0
    events: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_at: int | None = None
    last_batch_at: int | None = None
    running: bool = False
    counts: Counter[str] = field(default_factory=Counter)


def to_arrow(rows: Sequence[Sequence[Any]]) -> Any:
    """Pure: outbox rows (tuples in EVENT_COLUMNS order) → an Arrow table for the events table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if rows:
        cols = list(zip(*rows, strict=True))
    else:
        cols = [() for _ in EVENT_COLUMNS]
    c = dict(zip(EVENT_COLUMNS, cols, strict=True))

    def text(name: str) -> Any:
        # NULL → '' keeps the ClickHouse columns non-Nullable (faster to scan)
        return pc.fill_null(pa.array(c[name], pa.string()), "")

    latency = pa.array(c["latency_ms"], pa.int64())
    return pa.table(
        {
            "event_id": pa.array([str(v) for v in c["event_id"]], pa.string()),
            "event_time": pa.array(c["event_time"], pa.int64()).cast(pa.timestamp("ms", "UTC")),
            "event": text("event"),
            "notification_id": pc.fill_null(pa.array(c["notification_id"], pa.int64()), 0).cast(
                pa.uint64()
            ),
            "user_id": text("user_id"),
            "category": text("category"),
            "channel": text("channel"),
            "priority": text("priority"),
            "latency_ms": pc.max_element_wise(latency, 0).cast(pa.uint32()),
            "error_code": text("error_code"),
            "api_key_id": text("api_key_id"),
            "metadata": text("metadata"),
        }
    )


def backoff_seconds(interval: float, failures: int) -> float:
    """Pure: how long to wait after `failures` consecutive failed rounds."""
    if failures <= 0:
        return interval
    return min(MAX_BACKOFF, max(interval, 0.05) * (2 ** min(failures, 10)))


class Ingester:
    def __init__(
        self,
        db: Database,
        sink: Sink,
        settings: Settings,
        state: Any = None,
    ) -> None:
        self.db = db
        # set by analytics.component.build: apply the schema before the first batch
        self.prepare: Callable[[], Awaitable[None]] | None = None
        self.sink = sink
        self.batch_size = max(1, settings.ingest_batch_size)
        self.interval = settings.ingest_interval
        self.state = state
        self.owner = secrets.token_hex(8)
        self.stats = IngestStats()
        self._epoch: str | None = None

    # ------------------------------------------------------------ the lease

    async def acquire_lease(self) -> bool:
        """Hold (or renew) the single-ingester lease; False if another process has it."""
        now = now_ms()
        await self.db.execute(
            "INSERT INTO analytics_ingest (id, epoch, lease_until, ingested)"
            " VALUES (1, :epoch, 0, 0) ON CONFLICT (id) DO NOTHING",
            {"epoch": secrets.token_hex(8)},
        )
        await self.db.execute(
            "UPDATE analytics_ingest SET owner = :me, lease_until = :until WHERE id = 1"
            " AND (owner IS NULL OR owner = :me OR lease_until < :now)",
            {"me": self.owner, "until": now + LEASE_MS, "now": now},
        )
        row = await self.db.fetch_one("SELECT owner, epoch FROM analytics_ingest WHERE id = 1")
        assert row is not None
        self._epoch = row["epoch"]
        return bool(row["owner"] == self.owner)

    async def release_lease(self) -> None:
        await self.db.execute(
            "UPDATE analytics_ingest SET owner = NULL, lease_until = 0"
            " WHERE id = 1 AND owner = :me",
            {"me": self.owner},
        )

    # ------------------------------------------------------------ one batch

    async def claimed_batches(self) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT DISTINCT batch_id FROM outbox WHERE batch_id IS NOT NULL ORDER BY batch_id"
        )
        return [int(r["batch_id"]) for r in rows]

    async def claim(self) -> int | None:
        """Stamp the next batch (oldest unclaimed rows, up to batch_size); its id or None."""
        last = await self.db.fetch_val(
            "SELECT id FROM outbox WHERE batch_id IS NULL ORDER BY id LIMIT 1 OFFSET :skip",
            {"skip": self.batch_size - 1},
        )
        if last is None:
            last = await self.db.fetch_val("SELECT MAX(id) FROM outbox WHERE batch_id IS NULL")
        if last is None:
            return None
        await self.db.execute(
            "UPDATE outbox SET batch_id = :b WHERE batch_id IS NULL AND id <= :b", {"b": last}
        )
        return int(last)

    def token(self, batch_id: int) -> str:
        return f"hub-outbox-{self._epoch}-{batch_id}"

    async def read_batch(self, batch_id: int) -> list[Sequence[Any]]:
        """The rows of a claimed batch as driver tuples (EVENT_COLUMNS order), oldest first."""
        async with self.db.raw() as raw:
            if self.db.is_postgres:
                return list(await raw.fetch(_SELECT_BATCH.replace("?", "$1"), batch_id))
            cursor = await raw.execute(_SELECT_BATCH, (batch_id,))
            return list(await cursor.fetchall())

    async def prune(self, batch_id: int, n: int) -> None:
        """Drop a confirmed batch from the outbox (only ever after the store said yes)."""
        async with self.db.transaction():
            await self.db.execute("DELETE FROM outbox WHERE batch_id = :b", {"b": batch_id})
            await self.db.execute(
                "UPDATE analytics_ingest SET ingested = ingested + :n, last_batch_at = :now"
                " WHERE id = 1",
                {"n": n, "now": now_ms()},
            )

    async def run_once(self) -> int:
        """Send claimed batches, then new ones while full batches wait; rows sent.

        Pipelined, so the outbox (SQLite/Postgres) and the store work at the same
        time: while batch N is inserted, batch N+1 is claimed and read; once N is
        confirmed, N+1's insert starts and N is pruned meanwhile. Inserts stay in
        order, one at a time. Raises SinkError when the store fails; a batch is
        pruned only after its insert returned, so a failure leaves it (and any
        batch read ahead) claimed, and the next round re-sends it with its token.
        """
        if self.prepare is not None:
            await self.prepare()
        if not await self.acquire_lease():
            return 0
        queue = await self.claimed_batches()
        batch_id = queue.pop(0) if queue else await self.claim()
        if batch_id is None:
            return 0
        rows = await self.read_batch(batch_id)
        insert = asyncio.create_task(self._insert(batch_id, rows))
        total = 0
        while True:
            next_id: int | None = None
            next_rows: list[Sequence[Any]] = []
            try:
                if queue:
                    next_id = queue.pop(0)
                elif len(rows) >= self.batch_size and await self.acquire_lease():
                    next_id = await self.claim()
                if next_id is not None:
                    next_rows = await self.read_batch(next_id)
            finally:
                await insert  # batch_id is confirmed past this line
            if next_id is not None:
                insert = asyncio.create_task(self._insert(next_id, next_rows))
            try:
                await self.prune(batch_id, len(rows))
            except BaseException:
                if next_id is not None:
                    # let the read-ahead insert finish; it stays claimed and is re-sent
                    await asyncio.gather(insert, return_exceptions=True)
                raise
            await self._publish(self._count(rows))
            total += len(rows)
            if next_id is None:
                return total
            batch_id, rows = next_id, next_rows

    def _count(self, rows: list[Sequence[Any]]) -> Counter[str]:
        counts: Counter[str] = Counter(r[2] for r in rows)
        self.stats.batches += 1
        self.stats.events += len(rows)
        self.stats.counts.update(counts)
        self.stats.last_batch_at = now_ms()
        return counts

    async def _insert(self, batch_id: int, rows: list[Sequence[Any]]) -> None:
        if not rows:
            return
        # the Arrow conversion is CPU work: keep it off the event loop too
        table = await asyncio.to_thread(to_arrow, rows)
        await self.sink.insert_arrow("events", table, token=self.token(batch_id))

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Send until the outbox is empty (tests, benchmarks, shutdown)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def _publish(self, counts: Counter[str]) -> None:
        fanout = getattr(self.state, "fanout", None) if self.state is not None else None
        if fanout is None or not counts or not hasattr(fanout, "publish_channel"):
            return
        try:
            await fanout.publish_channel(
                LIVE_CHANNEL, {"type": "analytics.ingested", "counts": dict(counts)}
            )
        except Exception:  # noqa: BLE001 - live updates are best effort
            log.debug("could not publish analytics.ingested", exc_info=True)

    # ------------------------------------------------------------ the loop

    async def run(self, stop_event: asyncio.Event) -> None:
        self.stats.running = True
        try:
            while not stop_event.is_set():
                wait = self.interval
                try:
                    n = await self.run_once()
                    self.stats.consecutive_failures = 0
                    if n >= self.batch_size:
                        wait = 0  # by size: a full batch means more is waiting
                except SinkError as exc:
                    self._failed(exc)
                    wait = backoff_seconds(self.interval, self.stats.consecutive_failures)
                except Exception as exc:  # noqa: BLE001 - the loop must survive anything
                    self._failed(exc)
                    log.exception("analytics ingester round failed")
                    wait = backoff_seconds(self.interval, self.stats.consecutive_failures)
                if wait:
                    try:
                        await asyncio.wait_for(stop_event.wait(), timeout=wait)
                    except TimeoutError:
                        pass
                else:
                    await asyncio.sleep(0)
        finally:
            self.stats.running = False
            try:
                await self.release_lease()
            except Exception:  # noqa: BLE001
                log.debug("could not release the ingest lease", exc_info=True)

    def _failed(self, exc: BaseException) -> None:
        self.stats.failures += 1
        self.stats.consecutive_failures += 1
        self.stats.last_error = str(exc)[:500]
        self.stats.last_error_at = now_ms()
        if self.stats.consecutive_failures in (1, 10) or self.stats.consecutive_failures % 100 == 0:
            log.warning(
                "analytics store unavailable (%d in a row): %s; backlog kept in the outbox",
                self.stats.consecutive_failures,
                self.stats.last_error,
            )


# ---------------------------------------------------------------- status


async def ingest_status(state: Any) -> dict[str, Any]:
    """Backlog size and ingest lag, for any status endpoint (needs only state.db)."""
    db: Database = state.db
    settings: Settings = state.settings
    row = await db.fetch_one("SELECT COUNT(*) AS n, MIN(event_time) AS oldest FROM outbox")
    backlog = int(row["n"]) if row else 0
    oldest = row["oldest"] if row else None
    now = now_ms()
    ingest = await db.fetch_one(
        "SELECT owner, lease_until, last_batch_at, ingested FROM analytics_ingest WHERE id = 1"
    )
    ingester: Ingester | None = getattr(getattr(state, "analytics", None), "ingester", None)
    out: dict[str, Any] = {
        "enabled": bool(settings.analytics_url),
        "backlog": backlog,
        "oldest_event_time": ms_to_iso(oldest),
        "lag_ms": max(0, now - int(oldest)) if oldest is not None else 0,
        "ingested_total": int(ingest["ingested"]) if ingest else 0,
        "last_batch_at": ms_to_iso(ingest["last_batch_at"]) if ingest else None,
        "ingester_active": bool(ingest and ingest["owner"] and ingest["lease_until"] > now),
        "batch_size": settings.ingest_batch_size,
        "interval_s": settings.ingest_interval,
    }
    if ingester is not None:
        out["local"] = {
            "running": ingester.stats.running,
            "batches": ingester.stats.batches,
            "events": ingester.stats.events,
            "failures": ingester.stats.failures,
            "consecutive_failures": ingester.stats.consecutive_failures,
            "last_error": ingester.stats.last_error,
            "last_error_at": ms_to_iso(ingester.stats.last_error_at),
        }
    return out


# ---------------------------------------------------------------- standalone


async def run_ingester(state: Any, stop_event: asyncio.Event) -> None:
    """`hub worker`'s entry point: ingest until stop_event, using state.db/settings."""
    settings: Settings = state.settings
    if not settings.analytics_url:
        return
    from analytics.component import build

    runtime = build(state, settings)
    try:
        await runtime.ingester.run(stop_event)
    finally:
        runtime.sink.close()
