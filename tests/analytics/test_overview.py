"""The dashboards' one-query overview gives exactly the documents of the separate queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics import overview as ov
from analytics import queries as q
from hub.db import now_ms
from tests.analytics.test_pipeline import HOUR, scenario
from tests.conftest import Hub


def _same(doc: dict[str, Any]) -> str:
    # `source` may differ by design (by-type reads daily rollups, the overview hourly)
    return json.dumps({k: v for k, v in doc.items() if k != "source"}, sort_keys=True)


async def separate(sink: Any, f: q.Filters, interval: str, source: str) -> list[dict[str, Any]]:
    return [
        await q.summary(sink, f, source),
        await q.funnel(sink, f, "auto" if source == "auto" else source),
        await q.timeline(sink, f, interval, source),
        await q.by_type(sink, f, source),
        await q.by_method(sink, f, source),
        await q.latency(sink, f, "delivered", source),
        await q.heatmap(sink, f, ("read", "clicked"), source),
    ]


async def test_overview_equals_the_separate_queries(ahub: Hub) -> None:
    await scenario(ahub)
    await ahub.state.analytics.ingester.drain()
    sink = ahub.state.analytics.sink
    now = now_ms()
    windows = [
        q.Filters(now - 48 * HOUR - 1234, now + 61_000),
        q.Filters(now - 48 * HOUR - 1234, now + 61_000, channel="email"),
        q.Filters(now - 48 * HOUR - 1234, now + 61_000, category="billing"),
        q.Filters(now - 2 * HOUR, now + 1000),
    ]
    compared = 0
    for f in windows:
        short = f.end_ms - f.start_ms < 3 * HOUR
        for interval in ("minute", "hour") if short else ("hour", "day"):
            for source, rows in (("auto", None), ("auto", 19), ("raw", None), ("rollup", None)):
                got = await ov.overview(sink, f, interval, source, store_rows=rows)
                want = await separate(sink, f, interval, source)
                for a, b in zip(want, got.docs(), strict=True):
                    assert _same(a) == _same(b), (f, interval, source, rows)
                    compared += 1
    assert compared == 7 * 4 * 2 * 4
    # the numbers really are there (not two empty answers agreeing)
    got = await ov.overview(sink, windows[0], "hour", "rollup")
    assert got.summary["delivered"] == 3 and got.summary["delivery_latency_ms"]["p50"] == 100
    assert [c["channel"] for c in got.latency["channels"]] == ["email", "push"]
    assert got.funnel["stages"][0]["notifications"] == 5
    assert sum(map(sum, got.heatmap["grid"])) == 4


def test_one_raw_query_when_the_store_is_small() -> None:
    now = 100 * q.DAY_MS
    week = q.Filters(now - 7 * q.DAY_MS, now)
    assert ov.choose_source(week, "auto", store_rows=10_000) == "raw"
    assert ov.choose_source(week, "auto", store_rows=ov.RAW_MAX_ROWS + 1) == "rollup"
    assert ov.choose_source(week, "auto", store_rows=None) == "rollup"
    assert ov.choose_source(week, "rollup", store_rows=10) == "rollup"
    raw = ov.plan(week, "day", "raw")
    assert raw.sql.count("SELECT") == 1 and "GROUPING SETS" in raw.sql
    assert "State" not in raw.sql and "funnel_notifications" in raw.sql
    assert "latency" not in raw.sql  # delivered latency comes from the histogram query
    rollup = ov.plan(week, "day", "rollup")
    assert "events_hourly" in rollup.sql and "funnel_notifications" not in rollup.sql
    assert "events_daily" not in rollup.sql  # the heatmap needs hours


def test_split_files_rows_by_grouping_set() -> None:
    common = {"events": 2, "latency_sum": 0, "latency_count": 0}
    rows = [
        {
            "set_mask": q.set_mask(ov.NAMES, ("event",)),
            "bucket": 0,
            "how": 0,
            "category": "",
            "channel": "",
            "event": "read",
            **common,
        },
        {
            "set_mask": q.set_mask(ov.NAMES, ("how", "event")),
            "bucket": 0,
            "how": 30,
            "category": "",
            "channel": "",
            "event": "read",
            **common,
        },
    ]
    sets = ov.split(rows)
    assert sets["event"] == [{"event": "read", **common}]
    assert sets["how"][0]["how"] == 30 and "category" not in sets["how"][0]
    assert sets["category"] == sets["channel"] == sets["bucket"] == []


def test_set_mask_is_the_sql_standard_grouping() -> None:
    names = ("a", "b", "c")
    assert q.set_mask(names, ("a", "b", "c")) == 0
    assert q.set_mask(names, ("c",)) == 0b110
    assert q.set_mask(names, ("a",)) == 0b011


@pytest.mark.parametrize("measure", sorted(q.DIRECT))
def test_every_measure_has_a_direct_form(measure: str) -> None:
    assert measure in q.MEASURES
