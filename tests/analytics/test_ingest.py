"""The ingester's claim/load/prune paths and the 0061 outbox migration.

SQLite batches are id ranges (outbox_batches) and, into chDB, pulled from a
throw-away SQLite file; Postgres batches are stamped rows sent as Arrow. Both
sending paths are checked on SQLite, each with a re-sent batch that the dedup
token drops in the events table and in both rollups.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from analytics.events import Event, record
from analytics.ingest import Batch, Ingester, _in_transaction, to_arrow
from hub.db import Database, now_ms
from tests.analytics.conftest import crash_every_other_prune, drain_through_failures
from tests.conftest import Hub, make_settings, start_hub

HOUR = 3_600_000


@pytest.fixture
async def sqlite_ahub(sqlite_url: str, analytics_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    settings = make_settings(sqlite_url, tmp_path, analytics_url=analytics_url, ingest_batch_size=4)
    async for h in start_hub(settings):
        yield h


async def _events(hub: Hub, n: int, base: int) -> None:
    async with hub.db.transaction():
        await record(
            hub.db,
            [
                Event(
                    "delivered" if i % 3 == 0 else "created",
                    notification_id=i,
                    user_id=f"u{i % 2}",
                    category="c",
                    channel="email",
                    latency_ms=100 + i if i % 3 == 0 else None,
                    event_time=base + i * HOUR,
                )
                for i in range(n)
            ],
        )


def _exists(path: str) -> bool:
    return Path(path).exists()


async def _counts(hub: Hub) -> tuple[int, ...]:
    sink = hub.state.analytics.sink
    out = []
    for table, column in (
        ("events", "count()"),
        ("events_hourly", "sum(events)"),
        ("events_daily", "sum(events)"),
    ):
        out.append((await sink.query(f"SELECT {column} FROM {table}")).rows[0][0])
    return tuple(out)


@pytest.mark.parametrize("pull", [True, False], ids=["pull", "arrow"])
async def test_resent_batches_count_once_on_either_path(
    ahub: Hub, pull: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = 86_400_000
    await _events(ahub, 10, (now_ms() // day - 2) * day)
    ingester: Ingester = ahub.state.analytics.ingester
    if ahub.db.is_postgres or ingester.sink.config.scheme != "chdb":
        # chDB pulls from a SQLite outbox only: everything else sends Arrow
        assert ingester.pull is False
        if pull:
            return
    else:
        assert ingester.pull is True
        ingester.pull = pull
    calls = crash_every_other_prune(monkeypatch, ingester)
    files: list[str] = []
    real_write = ingester._write_file

    async def write_file(batch: Batch) -> None:
        await real_write(batch)
        assert batch.file is not None
        files.append(batch.file)

    monkeypatch.setattr(ingester, "_write_file", write_file)
    await drain_through_failures(ingester)
    assert calls["n"] == 6  # three batches of up to 4, each sent twice
    assert await _counts(ahub) == (10, 10, 10)
    assert ingester.stats.events == 10 and ingester.stats.counts["delivered"] == 4
    assert await ahub.db.fetch_val("SELECT COUNT(*) FROM outbox") == 0
    if not ahub.db.is_postgres:
        assert await ahub.db.fetch_val("SELECT COUNT(*) FROM outbox_batches") == 0
    sink = ahub.state.analytics.sink
    # no latency is NULL, not 0: only deliveries carry one
    lat = await sink.query("SELECT countIf(latency_ms IS NOT NULL), min(latency_ms) FROM events")
    assert lat.rows[0] == (4, 100)
    assert ingester.stats.insert_seconds > 0
    # every send loads its batch again (read-ahead ones too): 8 loads here
    assert len(files) == (8 if ingester.pull else 0)
    assert not [f for f in files if _exists(f)]  # each pulled file removed after its insert


async def test_sqlite_batches_are_id_ranges_and_stamped_ones_go_first(sqlite_ahub: Hub) -> None:
    hub = sqlite_ahub
    ingester: Ingester = hub.state.analytics.ingester
    await _events(hub, 6, now_ms() - 10 * HOUR)
    # a batch stamped by the previous version, claimed but never pruned
    await hub.db.execute("UPDATE outbox SET batch_id = 2 WHERE id <= 2")
    assert await ingester.acquire_lease()
    batch = await ingester._claim_range()
    assert batch is not None and (batch.first_id, batch.id) == (3, 6)  # 4 rows
    assert [(b.id, b.first_id) for b in await ingester.claimed_batches()] == [(2, None), (6, 3)]
    # claiming writes no outbox row
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE batch_id IS NOT NULL") == 2
    assert await ingester._claim_range() is None  # nothing left unclaimed
    await _events(hub, 1, now_ms())
    assert await ingester.claim() == 7
    assert await ingester.drain() == 7
    assert await _counts(hub) == (7, 7, 7)
    row = await hub.db.fetch_one("SELECT ingested FROM analytics_ingest WHERE id = 1")
    assert row == {"ingested": 7}
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox_batches") == 0


async def test_lease_is_one_statement_and_exclusive(ahub: Hub) -> None:
    first: Ingester = ahub.state.analytics.ingester
    other = Ingester(ahub.db, first.sink, ahub.settings)
    assert await first.acquire_lease()
    assert not await other.acquire_lease()  # held
    await _events(ahub, 1, now_ms())
    assert await other.run_once() == 0  # sends nothing without the lease
    assert await first.acquire_lease()  # renewed
    await first.release_lease()
    assert await other.acquire_lease()
    await ahub.db.execute("UPDATE analytics_ingest SET lease_until = 1")  # expired
    assert await first.acquire_lease()
    assert first.token(5) == other.token(5)  # one epoch


async def test_record_writes_every_column_on_the_bulk_path_too(hub: Hub) -> None:
    # more than 50 events: Postgres takes the positional-parameter bulk path
    events = [
        Event("delivered", notification_id=i, user_id="u", latency_ms=i, metadata={"k": i})
        for i in range(60)
    ]
    async with hub.db.transaction():
        await record(hub.db, events)
    rows = await hub.db.fetch_all(
        "SELECT event_id, event, notification_id, latency_ms, metadata FROM outbox ORDER BY id"
    )
    assert [(r["event_id"], r["notification_id"], r["latency_ms"]) for r in rows] == [
        (e.event_id, i, i) for i, e in enumerate(events)
    ]
    assert {r["event"] for r in rows} == {"delivered"}
    assert [json.loads(r["metadata"]) for r in rows] == [{"k": i} for i in range(60)]


def test_to_arrow_keeps_null_latency() -> None:
    t = to_arrow([("e", 1000, "read", None, None, "c", None, None, None, None, None, None)])
    assert t.to_pylist()[0]["latency_ms"] is None


async def test_sqlite_migration_drops_unique_and_keeps_the_sequence(tmp_path: Path) -> None:
    from hub.db import SQL_DIR

    sql = tmp_path / "sql" / "sqlite"
    sql.mkdir(parents=True)
    for path in sorted((SQL_DIR / "sqlite").glob("*.sql")):
        if path.name < "0061":
            (sql / path.name).write_text(path.read_text())
    db = Database(f"sqlite:///{tmp_path}/hub.db")
    await db.connect()
    try:
        await db.migrate(tmp_path / "sql")
        for i in range(5):
            await db.execute(
                "INSERT INTO outbox (event_id, event_time, event, batch_id)"
                " VALUES (:e, 1, 'created', :b)",
                {"e": f"e{i}", "b": 2 if i < 2 else None},
            )
        await db.execute("DELETE FROM outbox WHERE id >= 4")  # the counter stays at 5
        (sql / "0061_outbox_batches.sql").write_text(
            (SQL_DIR / "sqlite" / "0061_outbox_batches.sql").read_text()
        )
        assert await db.migrate(tmp_path / "sql") == ["0061_outbox_batches.sql"]
        rows = await db.fetch_all("SELECT id, event_id, batch_id FROM outbox ORDER BY id")
        assert rows == [
            {"id": 1, "event_id": "e0", "batch_id": 2},
            {"id": 2, "event_id": "e1", "batch_id": 2},
            {"id": 3, "event_id": "e2", "batch_id": None},
        ]
        # duplicates allowed now; ids are never handed out twice
        await db.execute(
            "INSERT INTO outbox (event_id, event_time, event) VALUES ('e0', 1, 'created')"
        )
        assert await db.fetch_val("SELECT MAX(id) FROM outbox") == 6
    finally:
        await db.disconnect()
    con = sqlite3.connect(tmp_path / "hub.db")
    try:
        indexes = {r[1]: r[2] for r in con.execute("PRAGMA index_list(outbox)")}
        assert indexes == {"outbox_batch": 0}  # partial, not unique; no event_id index
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


async def test_postgres_migration_drops_unique(pg_database: str) -> None:
    db = Database(pg_database)
    await db.connect()
    try:
        n = await db.fetch_val(
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'outbox'"
            " AND indexdef LIKE '%event_id%'"
        )
        assert n == 0
    finally:
        await db.disconnect()


def test_sqlite_transaction_rolls_back(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    con.execute("CREATE TABLE t (x INTEGER)")

    def fail() -> None:
        con.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _in_transaction(con, fail)
    assert _in_transaction(con, lambda: con.execute("SELECT COUNT(*) FROM t").fetchone()) == (0,)
    con.close()
