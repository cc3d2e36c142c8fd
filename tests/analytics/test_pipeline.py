"""The whole path: HTTP state changes → outbox → ingester → chDB → analytics API, exact numbers.

Runs on SQLite and Postgres (outbox) × chDB (and a ClickHouse server when
HUB_TEST_CLICKHOUSE_URL is set).
"""

from __future__ import annotations

from typing import Any

import pytest

from analytics.events import Event, record
from analytics.sink import SinkError
from hub.db import ms_to_iso, now_ms
from tests.analytics.conftest import crash_every_other_prune, drain_through_failures, get
from tests.conftest import Hub

HOUR = 3_600_000
A = "/api/notifications/analytics"


async def deliveries(hub: Hub, ids: list[int], base: int) -> None:
    """What the delivery workers record: sends, deliveries with latency, a failure, a retry."""
    n1, n2, n3, n4 = ids[:4]
    evs = [
        Event(
            "sent",
            notification_id=n1,
            user_id="alice",
            category="billing",
            channel="email",
            event_time=base - 5 * HOUR,
        ),
        Event(
            "delivered",
            notification_id=n1,
            user_id="alice",
            category="billing",
            channel="email",
            latency_ms=100,
            event_time=base - 5 * HOUR + 100,
        ),
        Event(
            "sent",
            notification_id=n2,
            user_id="alice",
            category="billing",
            channel="email",
            event_time=base - 5 * HOUR,
        ),
        Event(
            "delivered",
            notification_id=n2,
            user_id="alice",
            category="billing",
            channel="email",
            latency_ms=300,
            event_time=base - 5 * HOUR + 300,
        ),
        # a retry: the first attempt fails, the second one gets through
        Event(
            "sent",
            notification_id=n3,
            user_id="alice",
            category="billing",
            channel="push",
            event_time=base - 3 * HOUR,
        ),
        Event(
            "failed",
            notification_id=n3,
            user_id="alice",
            category="billing",
            channel="push",
            error_code="apns_503",
            event_time=base - 3 * HOUR + 10,
        ),
        Event(
            "sent",
            notification_id=n3,
            user_id="alice",
            category="billing",
            channel="push",
            metadata={"attempt": 2},
            event_time=base - 2 * HOUR,
        ),
        Event(
            "delivered",
            notification_id=n3,
            user_id="alice",
            category="billing",
            channel="push",
            latency_ms=50,
            event_time=base - 2 * HOUR + 50,
        ),
        # a hard failure
        Event(
            "sent",
            notification_id=n4,
            user_id="bob",
            category="social",
            channel="email",
            event_time=base - 90_000,
        ),
        Event(
            "failed",
            notification_id=n4,
            user_id="bob",
            category="social",
            channel="email",
            error_code="smtp_550",
            event_time=base - 60_000,
        ),
    ]
    async with hub.db.transaction():
        await record(hub.db, evs)


async def scenario(hub: Hub) -> dict[str, Any]:
    """5 created (3 billing for alice, 2 social for bob), 3 read, 1 clicked, deliveries."""
    alice = (await hub.send("alice", category="billing", title="Invoice"))["ids"]
    alice += (await hub.send("alice", category="billing", title="Paid"))["ids"]
    alice += (await hub.send("alice", category="billing", title="Refund"))["ids"]
    bob = (await hub.send(["bob"], category="social", title="Hi"))["ids"]
    bob += (await hub.send(["bob"], category="social", title="Yo"))["ids"]
    ua, ub = hub.user("alice"), hub.user("bob")
    for nid in alice[:2]:
        r = await hub.client.post(f"/api/notifications/{nid}/read", headers=ua)
        assert r.status_code == 200, r.text
    r = await hub.client.post(f"/api/notifications/{bob[0]}/read", headers=ub)
    assert r.status_code == 200
    # a click on an already-read notification: one clicked event, no second read
    r = await hub.client.get(f"/r/{alice[0]}", headers=ua, follow_redirects=False)
    assert r.status_code == 302
    # reading twice records nothing new
    r = await hub.client.post(f"/api/notifications/{alice[0]}/read", headers=ua)
    assert r.status_code == 200
    await deliveries(hub, [alice[0], alice[1], alice[2], bob[0]], now_ms())
    return {"alice": alice, "bob": bob}


def window(hours: int = 48) -> dict[str, str]:
    now = now_ms()
    return {"from": ms_to_iso(now - hours * HOUR - 1234), "to": ms_to_iso(now + 61_000)}


EXPECTED = {
    "created": 5,
    "sent": 5,
    "delivered": 3,
    "read": 3,
    "clicked": 1,
    "failed": 2,
}


async def check_numbers(hub: Hub, headers: dict[str, str], source: str) -> None:
    w = {**window(), "source": source}
    s = await get(hub, f"{A}/summary", headers, **w)
    assert {k: s[k] for k in EXPECTED} == EXPECTED, s
    assert s["delivery_rate"] == 0.6
    assert s["read_rate"] == 0.6
    assert s["click_through_rate"] == 0.2
    assert s["delivery_latency_ms"]["p50"] == pytest.approx(100, abs=1)
    assert 100 < s["delivery_latency_ms"]["p95"] <= 300

    t = await get(hub, f"{A}/by-type", headers, **w)
    items = {i["category"]: i for i in t["items"]}
    assert set(items) == {"billing", "social"}
    assert (items["billing"]["created"], items["billing"]["read"]) == (3, 2)
    assert (items["billing"]["sent"], items["billing"]["delivered"]) == (4, 3)
    assert (items["social"]["created"], items["social"]["read"], items["social"]["failed"]) == (
        2,
        1,
        1,
    )
    assert items["billing"]["clicked"] == 1

    m = await get(hub, f"{A}/by-method", headers, **w)
    ch = {i["channel"]: i for i in m["items"]}
    assert (ch["email"]["sent"], ch["email"]["delivered"], ch["email"]["failed"]) == (3, 2, 1)
    assert (ch["push"]["sent"], ch["push"]["delivered"], ch["push"]["failed"]) == (2, 1, 1)
    assert (ch["in_app"]["created"], ch["in_app"]["read"], ch["in_app"]["clicked"]) == (5, 3, 1)
    assert ch["push"]["delivery_rate"] == 0.5

    f = await get(hub, f"{A}/funnel", headers, **w)
    stages = [(x["stage"], x["notifications"]) for x in f["stages"]]
    # 4 distinct notifications got deliveries but bob's failed: 3 delivered
    assert stages == [("created", 5), ("delivered", 3), ("read", 3), ("clicked", 1)]
    assert f["stages"][1]["rate_from_start"] == 0.6

    lat = await get(hub, f"{A}/latency", headers, **w)
    by = {c["channel"]: c for c in lat["channels"]}
    assert by["email"]["count"] == 2 and by["email"]["avg_ms"] == 200.0
    assert by["push"]["count"] == 1 and by["push"]["p50"] == pytest.approx(50, abs=1)

    tl = await get(hub, f"{A}/timeline", headers, interval="hour", **w)
    n = len(tl["buckets"])
    assert n in (49, 50)  # 48 h + the partial hours at the edges, all present
    assert sum(tl["series"]["created"]) == 5
    assert sum(tl["series"]["sent"]) == 5
    assert sum(tl["series"]["delivered"]) == 3
    assert tl["series"]["delivered"].count(0) >= n - 3  # empty buckets present as zeros
    assert tl["buckets"][0].endswith(":00:00.000Z")

    hm = await get(hub, f"{A}/heatmap", headers, **w)
    assert sum(map(sum, hm["grid"])) == 4  # 3 read + 1 clicked


async def test_whole_path_exact_numbers(ahub: Hub) -> None:
    headers = await ahub.key("analytics")
    await scenario(ahub)
    st = await get(ahub, "/api/analytics/status", headers)
    assert st["backlog"] == 5 + 3 + 1 + 10  # created + read + clicked + delivery events
    assert st["lag_ms"] > 0
    ingester = ahub.state.analytics.ingester
    sent = await ingester.drain()
    assert sent == 19
    assert ingester.stats.batches == 5  # batch size 4
    st = await get(ahub, "/api/analytics/status", headers)
    assert (st["backlog"], st["lag_ms"], st["ingested_total"]) == (0, 0, 19)
    for source in ("raw", "rollup", "auto"):
        await check_numbers(ahub, headers, source)


async def test_resent_batch_counts_once(ahub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash after ClickHouse confirmed but before the outbox was pruned."""
    headers = await ahub.key("analytics")
    await scenario(ahub)
    ingester = ahub.state.analytics.ingester
    crashes = crash_every_other_prune(monkeypatch, ingester, ConnectionResetError)
    rounds = 0
    while True:
        rounds += 1
        try:
            if await ingester.run_once() == 0:
                break
        except ConnectionResetError:
            continue
    assert crashes["n"] == 10  # every batch was sent twice
    monkeypatch.undo()  # prunes succeed again
    for source in ("raw", "rollup"):
        await check_numbers(ahub, headers, source)
    rows = await ahub.state.analytics.sink.query("SELECT count() FROM events")
    assert rows.rows[0][0] == 19


async def test_outage_backlog_grows_then_drains(ahub: Hub) -> None:
    headers = await ahub.key("analytics")
    sink = ahub.state.analytics.sink
    ingester = ahub.state.analytics.ingester
    await ahub.send("carol", category="billing")
    assert await ingester.drain() == 1
    # the store goes away
    await sink.command("DETACH TABLE events")
    try:
        await scenario(ahub)  # the hub keeps working
        for _ in range(3):
            with pytest.raises(SinkError):
                await ingester.run_once()
        st = await get(ahub, "/api/analytics/status", headers)
        assert st["backlog"] == 19
        assert st["ingested_total"] == 1
    finally:
        await sink.command("ATTACH TABLE events")
    assert await ingester.drain() == 19
    st = await get(ahub, "/api/analytics/status", headers)
    assert st["backlog"] == 0 and st["ingested_total"] == 20
    s = await get(ahub, f"{A}/summary", headers, **window())
    assert s["created"] == 6 and s["read"] == 3 and s["sent"] == 5


async def test_ingester_loop_runs_in_serve(db_url: str, analytics_url: str, tmp_path) -> None:
    """With run_workers the lifespan runs the loop: events arrive without a manual drain."""
    import asyncio

    from tests.conftest import make_settings, start_hub

    settings = make_settings(
        db_url, tmp_path, analytics_url=analytics_url, run_workers=True, ingest_interval=0.05
    )
    async for hub in start_hub(settings):
        headers = await hub.key("analytics")
        await hub.send("dave", category="security")
        for _ in range(200):
            st = await get(hub, "/api/analytics/status", headers)
            if st["ingested_total"] >= 1 and st["backlog"] == 0:
                break
            await asyncio.sleep(0.05)
        # the delivery workers may add events of their own; all of them get through
        assert st["ingested_total"] >= 1 and st["backlog"] == 0
        assert st["ingester_active"] is True
        assert st["local"]["running"] is True
        s = await get(hub, f"{A}/summary", headers, **window())
        assert s["created"] == 1


async def test_loop_backs_off_during_outage_and_drains(ahub: Hub) -> None:
    """The background loop (as in `hub serve`): failures are counted, nothing lost or doubled."""
    import asyncio

    from analytics.ingest import Ingester

    headers = await ahub.key("analytics")
    sink = ahub.state.analytics.sink
    loop = Ingester(ahub.db, sink, ahub.settings.with_(ingest_interval=0.01), state=ahub.state)
    await ahub.state.analytics.ensure_schema()
    await sink.command("DETACH TABLE events")
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await scenario(ahub)
        for _ in range(300):
            if loop.stats.consecutive_failures >= 3:
                break
            await asyncio.sleep(0.01)
        assert loop.stats.consecutive_failures >= 3
        assert "events" in (loop.stats.last_error or "")
        st = await get(ahub, "/api/analytics/status", headers)
        assert st["backlog"] == 19
    finally:
        await sink.command("ATTACH TABLE events")
    # the back-off is capped; the next rounds drain everything
    loop.interval = 0.01
    loop.stats.consecutive_failures = 0
    for _ in range(500):
        st = await get(ahub, "/api/analytics/status", headers)
        if st["backlog"] == 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert st["backlog"] == 0 and st["ingested_total"] == 19
    assert loop.stats.running is False
    await check_numbers(ahub, headers, "auto")


async def test_standalone_run_ingester(db_url: str, analytics_url: str, tmp_path) -> None:
    """`hub worker`'s entry point: state with db + settings, runs until stop_event."""
    import asyncio
    from types import SimpleNamespace

    from analytics.ingest import run_ingester
    from analytics.sink import sink_from_url
    from hub.db import Database
    from tests.conftest import make_settings

    settings = make_settings(db_url, tmp_path, analytics_url=analytics_url, ingest_interval=0.02)
    db = Database(db_url)
    await db.connect()
    try:
        await db.migrate()
        async with db.transaction():
            await record(db, [Event("created", notification_id=7, user_id="u", category="c")])
        stop = asyncio.Event()
        state = SimpleNamespace(db=db, settings=settings)
        task = asyncio.create_task(run_ingester(state, stop))
        for _ in range(300):
            if await db.fetch_val("SELECT COUNT(*) FROM outbox") == 0:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)
        sink = sink_from_url(analytics_url)
        try:
            assert (await sink.query("SELECT count() FROM events")).rows[0][0] == 1
        finally:
            sink.close()
        # disabled analytics: returns at once
        await run_ingester(SimpleNamespace(db=db, settings=settings.with_(analytics_url="")), stop)
    finally:
        await db.disconnect()


async def test_every_rollup_counts_a_resent_batch_once(
    ahub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events days back land in the daily rollup (cascaded from the hourly one): re-sent once."""
    day = 86_400_000
    base = (now_ms() // day - 3) * day + 12 * HOUR  # noon, three days ago
    async with ahub.db.transaction():
        await record(
            ahub.db,
            [
                Event(
                    "created",
                    notification_id=i,
                    user_id=f"u{i % 2}",
                    category="c",
                    channel="in_app",
                    event_time=base + i * HOUR,
                )
                for i in range(6)
            ],
        )
    ingester = ahub.state.analytics.ingester
    calls = crash_every_other_prune(monkeypatch, ingester)
    await drain_through_failures(ingester)
    assert calls["n"] == 4  # two batches of up to 4, each sent twice
    sink = ahub.state.analytics.sink
    for table in ("events", "events_hourly", "events_daily"):
        column = "count()" if table == "events" else "sum(events)"
        assert (await sink.query(f"SELECT {column} FROM {table}")).rows[0][0] == 6, table
    for table in ("funnel_hourly", "funnel_daily", "funnel_category_daily", "funnel_channel_daily"):
        bitmap = await sink.query(f"SELECT groupBitmapMerge(notifications) FROM {table}")
        assert bitmap.rows[0][0] == 6, table
    timed = (await sink.query("SELECT count(latency_ms) FROM events")).rows[0][0]
    for table in ("latency_hourly", "latency_daily", "latency_split_daily"):
        assert (await sink.query(f"SELECT sum(n) FROM {table}")).rows[0][0] == timed, table
    headers = await ahub.key("analytics")
    w = {"from": ms_to_iso(base - 2 * day - 7), "to": ms_to_iso(now_ms()), "source": "rollup"}
    s = await get(ahub, f"{A}/summary", headers, **w)
    assert s["created"] == 6
    f = await get(ahub, f"{A}/funnel", headers, **w)
    assert f["stages"][0]["notifications"] == 6
    t = await get(ahub, f"{A}/timeline", headers, interval="day", **w)
    assert sum(t["series"]["created"]) == 6 and max(t["series"]["created"]) == 6


async def test_postgres_late_commit_is_not_skipped(
    pg_database: str, analytics_url: str, tmp_path
) -> None:
    """An outbox row whose transaction commits after a later row was claimed still gets in.

    Postgres hands out ids before commit, so id order is not commit order: a
    cursor "everything above the last id sent" would lose the late row; stamping
    claimed rows does not.
    """
    import asyncpg

    from tests.conftest import make_settings, start_hub, truncate_all

    await truncate_all(pg_database)
    settings = make_settings(pg_database, tmp_path, analytics_url=analytics_url)
    async for hub in start_hub(settings):
        slow = await asyncpg.connect(pg_database)
        try:
            tx = slow.transaction()
            await tx.start()
            await slow.execute(
                "INSERT INTO outbox (event_id, event_time, event, category)"
                " VALUES ($1, $2, 'created', 'late')",
                "00000000-0000-4000-8000-000000000001",
                now_ms(),
            )
            await hub.send("alice", category="early")  # a higher id, committed first
            ingester = hub.state.analytics.ingester
            assert await ingester.drain() == 1
            await tx.commit()
        finally:
            await slow.close()
        assert await ingester.drain() == 1
        sink = hub.state.analytics.sink
        rows = (
            await sink.query(
                "SELECT category, count() FROM events GROUP BY category ORDER BY category"
            )
        ).rows
        assert rows == [("early", 1), ("late", 1)]
        assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox") == 0
