"""Outbox → batches → analytics store, in order, counted once.

A batch is *claimed*, *sent* as one insert whose ``insert_deduplication_token``
is ``hub-outbox-<epoch>-<batch_id>`` (batch_id = the largest outbox id in it),
then *pruned* (deleted) once the store confirmed. A crash or timeout between
send and prune leaves the batch claimed; the next round re-sends exactly its
rows, in the same order, with the same token, and ClickHouse drops the
duplicate block, in the events table and in every rollup fed from it.

Claiming differs by primary database:

* Postgres hands out ids before commit, so a row with a smaller id can commit
  after a larger one was claimed: a batch is claimed by stamping ``batch_id`` on
  its rows (those unclaimed with id <= batch_id), which also takes in late rows.
* SQLite has one writer at a time, so rows become visible in id order: a batch
  is the id range (first_id, batch_id) recorded in ``outbox_batches``, no row is
  written to claim it, and pruning is a rowid-range delete. Batches stamped by
  an older version are still sent (and pruned) first.

Sending differs by store: chDB with a SQLite outbox *pulls* the batch: SQLite
copies its rows into a throw-away SQLite file (C only, no Python objects) and
chDB inserts them with ``INSERT … SELECT … FROM sqlite(file)``. chDB's own
SQLite never opens the hub's database file: two SQLite libraries in one
process do not see each other's POSIX locks, and chDB closing a connection to a
database in WAL mode checkpoints and deletes its -wal file under the hub's
open connections (SQLite's "how to corrupt" §2.2.1). Everything else (Postgres,
a ClickHouse server) reads rows in Python and sends an Arrow table.

Batches close by size (HUB_INGEST_BATCH_SIZE) or by time (HUB_INGEST_INTERVAL).
While the store is down the hub keeps writing the outbox; the ingester backs
off and drains the backlog when the store is back. One ingester at a time
holds a lease in ``analytics_ingest`` so several worker processes never race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import time
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

_COLUMNS = ", ".join(EVENT_COLUMNS)

# Every insert: no merging of equal sorting keys inside the inserted block. The
# rollup views' blocks are GROUP BY results (keys already unique) and outbox
# events are unique, so that pass found nothing and cost 15-20 % of an insert.
INSERT_SETTINGS: dict[str, Any] = {"optimize_on_insert": 0}
_STAMPED = "batch_id = ?"
# after a prune (named parameters: both hub.db and sqlite3 take them)
_COUNT_INGESTED = (
    "UPDATE analytics_ingest SET ingested = ingested + :n, last_batch_at = :now WHERE id = 1"
)
_RANGE = "id > ? AND id <= ?"

# The outbox columns as the events table wants them, computed by ClickHouse
# from the pulled SQLite rows; the same values as to_arrow (NULL text → '').
_PULL_SELECT = (
    "SELECT toUUID(event_id), fromUnixTimestamp64Milli(event_time, 'UTC'), event,"
    " toUInt64(ifNull(notification_id, 0)), ifNull(user_id, ''), ifNull(category, ''),"
    " ifNull(channel, ''), ifNull(priority, ''),"
    " CAST(if(latency_ms < 0, 0, latency_ms) AS Nullable(UInt32)), ifNull(error_code, ''),"
    " ifNull(api_key_id, ''), ifNull(metadata, '')"
)


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
    # wall time spent in the store's insert calls (benchmarks)
    insert_seconds: float = 0.0


@dataclass
class Batch:
    """A claimed batch: its id (and token), where its rows are, what is loaded."""

    id: int
    first_id: int | None = None  # an id-range batch (SQLite); None: rows stamped with id
    rows: list[Sequence[Any]] | None = None  # loaded for an Arrow insert
    file: str | None = None  # loaded as a SQLite file for chDB to pull
    n: int = 0
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
            # negative → 0; NULL (no latency: every event but deliveries) stays NULL
            "latency_ms": pc.max_element_wise(latency, 0, skip_nulls=False).cast(pa.uint32()),
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


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SQLiteOutbox:
    """The ingester's own connection to a SQLite outbox, kept open.

    ``Database`` opens a connection (and a thread) per statement outside a
    transaction; a round of the ingester runs a dozen statements. This one
    connection runs each call in a worker thread, one call at a time.
    ``synchronous=NORMAL`` (safe against corruption in WAL mode): what it can
    lose in a power cut is a lease renewal or a prune, and a batch whose prune
    was lost is re-sent with its token and dropped. A claim is written with
    ``synchronous=FULL``: its boundaries decide the token.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        def locked() -> Any:
            with self._lock:
                if self._con is None:
                    con = sqlite3.connect(
                        self.path, isolation_level=None, timeout=30, check_same_thread=False
                    )
                    con.execute("PRAGMA synchronous = NORMAL")
                    self._con = con
                return fn(self._con)

        return await asyncio.to_thread(locked)

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def _in_transaction(con: sqlite3.Connection, fn: Callable[[], Any]) -> Any:
    con.execute("BEGIN IMMEDIATE")
    try:
        out = fn()
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return out


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
        # chDB pulls batches from SQLite files (see the module docstring)
        self.pull = not db.is_postgres and sink.config.scheme == "chdb"
        self.outbox = None if db.is_postgres else SQLiteOutbox(db.sqlite_path)

    def close(self) -> None:
        """Close the SQLite connection (reopened if used again)."""
        if self.outbox is not None:
            self.outbox.close()

    # ------------------------------------------------------------ the lease

    async def acquire_lease(self) -> bool:
        """Hold (or renew) the single-ingester lease; False if another process has it."""
        now = now_ms()
        # one statement: create the row, or take/renew the lease if free, expired or ours
        sql = (
            "INSERT INTO analytics_ingest (id, epoch, owner, lease_until, ingested)"
            " VALUES (1, :epoch, :me, :until, 0) ON CONFLICT (id) DO UPDATE"
            " SET owner = excluded.owner, lease_until = excluded.lease_until"
            " WHERE analytics_ingest.owner IS NULL OR analytics_ingest.owner = excluded.owner"
            " OR analytics_ingest.lease_until < :now"
            " RETURNING epoch"
        )
        args = {
            "epoch": secrets.token_hex(8),
            "me": self.owner,
            "until": now + LEASE_MS,
            "now": now,
        }
        if self.outbox is not None:
            rows = await self.outbox.run(lambda con: con.execute(sql, args).fetchall())
            epoch = rows[0][0] if rows else None
        else:
            row = await self.db.fetch_one(sql, args)
            epoch = row["epoch"] if row else None
        if epoch is None:
            return False
        self._epoch = epoch
        return True

    async def release_lease(self) -> None:
        await self.db.execute(
            "UPDATE analytics_ingest SET owner = NULL, lease_until = 0"
            " WHERE id = 1 AND owner = :me",
            {"me": self.owner},
        )

    # ------------------------------------------------------------ claiming

    async def claimed_batches(self) -> list[Batch]:
        """Batches claimed but not pruned (sent or not), oldest first."""
        stamped = (
            "SELECT DISTINCT batch_id FROM outbox WHERE batch_id IS NOT NULL ORDER BY batch_id"
        )
        if self.outbox is None:
            return [Batch(int(r["batch_id"])) for r in await self.db.fetch_all(stamped)]

        def read(con: sqlite3.Connection) -> list[Batch]:
            batches = [Batch(int(r[0])) for r in con.execute(stamped)]
            ranges = con.execute("SELECT batch_id, first_id FROM outbox_batches ORDER BY batch_id")
            return batches + [Batch(int(b), int(first)) for b, first in ranges]

        return list(await self.outbox.run(read))

    async def claim(self) -> int | None:
        """Claim the next batch (oldest unclaimed rows, up to batch_size); its id or None."""
        batch = await self._claim()
        return batch.id if batch else None

    async def _claim(self) -> Batch | None:
        if self.outbox is not None:
            return await self._claim_range()
        # Postgres: stamp batch_id on the oldest unclaimed rows
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
        return Batch(int(last))

    async def _claim_range(self) -> Batch | None:
        """SQLite: the next id range above everything claimed, recorded in outbox_batches."""
        size = self.batch_size

        def claim(con: sqlite3.Connection) -> Batch | None:
            after = con.execute(
                "SELECT MAX(b) FROM (SELECT MAX(batch_id) AS b FROM outbox_batches"
                " UNION ALL SELECT MAX(batch_id) FROM outbox WHERE batch_id IS NOT NULL)"
            ).fetchone()[0]
            after = int(after or 0)
            row = con.execute(
                "SELECT id FROM outbox WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", (after, size - 1)
            ).fetchone()
            if row is None:
                row = con.execute("SELECT MAX(id) FROM outbox WHERE id > ?", (after,)).fetchone()
            if row is None or row[0] is None:
                return None
            con.execute(
                "INSERT INTO outbox_batches (batch_id, first_id) VALUES (?, ?)", (row[0], after + 1)
            )
            return Batch(int(row[0]), after + 1)

        def durable(con: sqlite3.Connection) -> Batch | None:
            con.execute("PRAGMA synchronous = FULL")
            try:
                return _in_transaction(con, lambda: claim(con))
            finally:
                con.execute("PRAGMA synchronous = NORMAL")

        assert self.outbox is not None
        batch: Batch | None = await self.outbox.run(durable)
        return batch

    async def _next(self, queue: list[Batch]) -> Batch | None:
        return queue.pop(0) if queue else await self._claim()

    def token(self, batch_id: int) -> str:
        return f"hub-outbox-{self._epoch}-{batch_id}"

    # ------------------------------------------------------------ loading

    @staticmethod
    def _where(batch: Batch) -> tuple[str, tuple[int, ...]]:
        if batch.first_id is None:
            return _STAMPED, (batch.id,)
        return _RANGE, (batch.first_id - 1, batch.id)

    async def read_batch(self, batch: Batch) -> list[Sequence[Any]]:
        """The rows of a claimed batch as driver tuples (EVENT_COLUMNS order), oldest first."""
        where, args = self._where(batch)
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE {where} ORDER BY id"  # noqa: S608
        if self.outbox is not None:
            return list(await self.outbox.run(lambda con: con.execute(sql, args).fetchall()))
        async with self.db.raw() as raw:
            numbered = iter(range(1, len(args) + 1))
            return list(await raw.fetch(re.sub(r"\?", lambda _: f"${next(numbered)}", sql), *args))

    async def load(self, batch: Batch) -> None:
        if self.pull:
            await self._write_file(batch)
        else:
            batch.rows = await self.read_batch(batch)
            batch.n = len(batch.rows)
            batch.counts = Counter(r[2] for r in batch.rows)

    async def _write_file(self, batch: Batch) -> None:
        """SQLite copies the batch into a file of its own, for chDB to pull (no Python rows)."""
        where, args = self._where(batch)

        def copy(con: sqlite3.Connection) -> tuple[str, Counter[str]]:
            fd, path = tempfile.mkstemp(prefix=f"hub-ingest-{batch.id}-", suffix=".sqlite")
            os.close(fd)  # an empty file is an empty SQLite database
            try:
                con.execute("ATTACH DATABASE ? AS pull", (path,))
                try:
                    con.execute("PRAGMA pull.journal_mode = OFF")
                    con.execute("PRAGMA pull.synchronous = OFF")
                    con.execute(
                        f"CREATE TABLE pull.rows AS SELECT id, {_COLUMNS}"  # noqa: S608
                        f" FROM main.outbox WHERE {where} ORDER BY id",
                        args,
                    )
                    counts = con.execute("SELECT event, COUNT(*) FROM pull.rows GROUP BY event")
                    return path, Counter({str(e): int(k) for e, k in counts})
                finally:
                    con.execute("DETACH DATABASE pull")
            except BaseException:
                os.unlink(path)
                raise

        assert self.outbox is not None
        batch.file, batch.counts = await self.outbox.run(copy)
        batch.n = sum(batch.counts.values())

    @staticmethod
    def _discard(batch: Batch) -> None:
        """Remove a pulled batch's file (sent, or given up for this round)."""
        if batch.file is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(batch.file)
            batch.file = None

    # ------------------------------------------------------------ sending

    async def _insert(self, batch: Batch) -> None:
        t = time.perf_counter()
        settings = {"insert_deduplication_token": self.token(batch.id), **INSERT_SETTINGS}
        try:
            if batch.file is not None:
                if batch.n:
                    await self.sink.command(
                        f"INSERT INTO events ({_COLUMNS}) {_PULL_SELECT}"  # noqa: S608
                        f" FROM sqlite({_sql_string(batch.file)}, 'rows') ORDER BY id",
                        settings=settings,
                    )
                return
            if not batch.rows:
                return
            # the Arrow conversion is CPU work: keep it off the event loop too
            table = await asyncio.to_thread(to_arrow, batch.rows)
            await self.sink.insert_arrow("events", table, settings=settings)
        finally:
            self.stats.insert_seconds += time.perf_counter() - t
            self._discard(batch)

    async def prune(self, batch_id: int, n: int) -> None:
        """Drop a confirmed batch from the outbox (only ever after the store said yes)."""
        counted = {"n": n, "now": now_ms()}
        if self.outbox is None:
            async with self.db.transaction():
                await self.db.execute("DELETE FROM outbox WHERE batch_id = :b", {"b": batch_id})
                await self.db.execute(_COUNT_INGESTED, counted)
            return

        # SQLite: batches are pruned in order, so everything up to batch_id goes (a
        # rowid range), and its outbox_batches row
        def delete(con: sqlite3.Connection) -> None:
            con.execute("DELETE FROM outbox WHERE id <= ?", (batch_id,))
            con.execute("DELETE FROM outbox_batches WHERE batch_id <= ?", (batch_id,))
            con.execute(_COUNT_INGESTED, counted)

        await self.outbox.run(lambda con: _in_transaction(con, lambda: delete(con)))

    async def run_once(self) -> int:
        """Send claimed batches, then new ones while full batches wait; rows sent.

        Pipelined, so the outbox (SQLite/Postgres) and the store work at the same
        time: while batch N is inserted, batch N+1 is claimed and loaded; once N
        is confirmed, N+1's insert starts and N is pruned meanwhile. Inserts stay
        in order, one at a time. Raises SinkError when the store fails; a batch is
        pruned only after its insert returned, so a failure leaves it (and any
        batch read ahead) claimed, and the next round re-sends it with its token.
        """
        if self.prepare is not None:
            await self.prepare()
        if not await self.acquire_lease():
            return 0
        queue = await self.claimed_batches()
        batch = await self._next(queue)
        if batch is None:
            return 0
        await self.load(batch)
        insert = asyncio.create_task(self._insert(batch))
        total = 0
        while True:
            nxt: Batch | None = None
            try:
                if queue or (batch.n >= self.batch_size and await self.acquire_lease()):
                    nxt = await self._next(queue)
                if nxt is not None:
                    await self.load(nxt)
            finally:
                try:
                    await insert  # batch is confirmed past this line
                except BaseException:
                    if nxt is not None:
                        self._discard(nxt)  # loaded ahead, not sent: reloaded next round
                    raise
            if nxt is not None:
                insert = asyncio.create_task(self._insert(nxt))
            try:
                await self.prune(batch.id, batch.n)
            except BaseException:
                if nxt is not None:
                    # let the read-ahead insert finish; it stays claimed and is re-sent
                    await asyncio.gather(insert, return_exceptions=True)
                raise
            await self._publish(self._count(batch))
            total += batch.n
            if nxt is None:
                return total
            batch = nxt

    def _count(self, batch: Batch) -> Counter[str]:
        self.stats.batches += 1
        self.stats.events += batch.n
        self.stats.counts.update(batch.counts)
        self.stats.last_batch_at = now_ms()
        return batch.counts

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
            self.close()

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
        await runtime.ingester.run(stop_event)  # closes its SQLite connection when it ends
    finally:
        runtime.sink.close()
