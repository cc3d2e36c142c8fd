"""An existing store (schema 0001-0003, t-digest/uniq/bitmap rollups) upgrades to the
histogram and funnel rollups in place: history backfilled, nothing counted twice."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from analytics import queries as q
from analytics.migrate import CLICKHOUSE_DIR, TTL_TABLES, apply_migrations, ttl_days_of
from analytics.sink import sink_from_url
from hub.db import now_ms

HOUR = q.HOUR_MS
DAY = q.DAY_MS


def _insert_sql(rows: list[tuple[int, str, int, str, int | None]]) -> str:
    values = ", ".join(
        f"(generateUUIDv4(), fromUnixTimestamp64Milli({t}, 'UTC'), '{e}', {n}, 'u', 'c',"
        f" '{ch}', 'normal', {'NULL' if lat is None else lat}, '', '', '')"
        for t, e, n, ch, lat in rows
    )
    return (
        "INSERT INTO events (event_id, event_time, event, notification_id, user_id, category,"
        " channel, priority, latency_ms, error_code, api_key_id, metadata) VALUES " + values
    )


async def test_old_store_upgrades_with_its_history(analytics_url: str, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for name in ("0001_events.sql", "0002_hourly_rollup.sql", "0003_daily_rollup.sql"):
        shutil.copy(CLICKHOUSE_DIR / name, old / name)
    sink = sink_from_url(analytics_url)
    try:
        assert len(await apply_migrations(sink, 400, old)) == 3
        base = (now_ms() // DAY - 5) * DAY + 3 * HOUR  # 03:00 UTC five days ago (inside the TTL)
        history = [
            (base, "created", 1, "email", None),
            (base + 1, "created", 2, "push", None),
            (base + HOUR, "delivered", 1, "email", 120),
            (base + DAY, "delivered", 2, "push", 80),
            (base + DAY + 5, "delivered", 2, "push", 3000),  # a retry: one notification
            (base + 2 * DAY, "read", 1, "email", None),
        ]
        await sink.command(_insert_sql(history))
        applied = await apply_migrations(sink, 400)
        assert applied == ["0004_histograms_and_funnel.sql", "0005_filtered_rollups.sql"]
        assert await apply_migrations(sink, 400) == []
        f = q.Filters(base - HOUR - 17, base + 3 * DAY + 17)
        for source in ("raw", "rollup"):
            funnel = await q.funnel(sink, f, source)
            stages = {s["stage"]: s["notifications"] for s in funnel["stages"]}
            assert stages == {"created": 2, "delivered": 2, "read": 1, "clicked": 0}, source
            lat = await q.latency(sink, f, "delivered", source)
            by = {c["channel"]: c for c in lat["channels"]}
            assert by["email"]["count"] == 1 and by["email"]["p50"] == 120.0
            assert by["push"]["count"] == 2 and by["push"]["avg_ms"] == 1540.0
            assert (by["push"]["p50"], by["push"]["p99"]) == (3000.0, 3000.0)
            s = await q.summary(sink, f, source)
            assert (s["created"], s["delivered"], s["read"]) == (2, 3, 1)
            assert s["delivery_latency_ms"] == {"p50": 120.0, "p95": 3000.0}
        # a long window: its middle comes from the 30-day periods, the same numbers
        old_ones = [
            (base - 70 * DAY, "created", 7, "chat", None),
            (base - 69 * DAY, "delivered", 7, "chat", 900),
            (base - 40 * DAY, "delivered", 7, "chat", 1000),
            (base - 40 * DAY, "delivered", 8, "chat", 40),
        ]
        await sink.command(_insert_sql(old_ones))
        long = q.Filters(base - 80 * DAY - 17, base + 3 * DAY + 17)
        plan = q.funnel_plan(long, "rollup")
        assert "funnel_30d" in plan.sql
        assert "latency_30d" in q.latency_plan([q.KEY_CHANNEL], long, "rollup").sql
        got = {
            src: (
                await q.funnel(sink, long, src),
                await q.latency(sink, long, "delivered", src),
                await q.summary(sink, long, src),
            )
            for src in ("raw", "rollup")
        }
        for a, b in zip(got["raw"], got["rollup"], strict=True):
            assert {**a, "source": ""} == {**b, "source": ""}
        # filtered: the split rollups (backfilled) give the raw figures
        tables = {True: "category", False: "channel"}
        for cat, ch in (("c", None), (None, "chat"), ("c", "push"), ("other", None)):
            fl = replace(long, category=cat, channel=ch)
            fp = q.funnel_plan(fl, "rollup")
            if cat and ch:
                assert fp.source == "raw"
            else:
                assert f"funnel_{tables[cat is not None]}_daily" in fp.sql
            lat_sql = q.latency_plan([q.KEY_CHANNEL], fl, "rollup").sql
            assert ("latency_split_daily" in lat_sql) == (cat is not None)
            for fn in (q.funnel, q.summary, q.by_method):
                a, b = await fn(sink, fl, "raw"), await fn(sink, fl, "rollup")
                assert {**a, "source": ""} == {**b, "source": ""}, (fn, cat, ch)
            a = await q.latency(sink, fl, "delivered", "raw")
            b = await q.latency(sink, fl, "delivered", "rollup")
            assert {**a, "source": ""} == {**b, "source": ""}, (cat, ch)
        chat_funnel = await q.funnel(sink, replace(long, channel="chat"), "rollup")
        stages = {s["stage"]: s["notifications"] for s in chat_funnel["stages"]}
        assert stages == {"created": 1, "delivered": 2, "read": 0, "clicked": 0}
        split = await sink.query(
            "SELECT channel, groupBitmapMerge(notifications) FROM funnel_channel_daily"
            " WHERE event = 'delivered' GROUP BY channel ORDER BY channel"
        )
        assert split.rows == [("chat", 2), ("email", 1), ("push", 1)]
        by_category = await sink.query(
            "SELECT category, groupBitmapMerge(notifications) FROM funnel_category_daily"
            " WHERE event = 'delivered' GROUP BY category"
        )
        assert by_category.rows == [("c", 4)]
        stages = {s["stage"]: s["notifications"] for s in got["rollup"][0]["stages"]}
        assert stages == {"created": 3, "delivered": 4, "read": 1, "clicked": 0}
        chat = next(c for c in got["rollup"][1]["channels"] if c["channel"] == "chat")
        assert (chat["count"], chat["p50"], chat["p99"]) == (3, 900.0, 1000.0)
        # the rollups really hold the history (read from the daily level)
        daily = await sink.query(
            "SELECT event, groupBitmapMerge(notifications) FROM funnel_daily"
            " GROUP BY event ORDER BY event"
        )
        assert daily.rows == [("created", 3), ("delivered", 4), ("read", 1)]
        # events arriving after the upgrade go through the new views once
        await sink.command(_insert_sql([(base + 2 * DAY + HOUR, "delivered", 3, "email", 100)]))
        for table in ("latency_daily", "latency_split_daily"):
            got_n = await sink.query(f"SELECT sum(n) FROM {table} WHERE event = 'delivered'")
            assert got_n.rows[0][0] == 7, table
        cols = await sink.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase()"
            " AND table = 'events_hourly'"
        )
        assert {r[0] for r in cols.rows} == {
            "hour",
            "event",
            "category",
            "channel",
            "events",
            "latency_sum",
            "latency_count",
        }
        await apply_migrations(sink, 30)
        engines = dict(
            (
                await sink.query(
                    "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
                )
            ).rows
        )
        assert all(ttl_days_of(engines[t]) == 30 for t in TTL_TABLES)
    finally:
        sink.close()
