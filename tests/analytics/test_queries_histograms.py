"""Latency histograms (percentiles within 2 %) and the funnel/latency plans over their rollups."""

from __future__ import annotations

import random
from typing import Any

import pytest

from analytics import overview as ov
from analytics import queries as q
from analytics.migrate import apply_migrations
from analytics.sink import sink_from_url


def hist_of(values: list[int], bucket: Any) -> list[q.Bucket]:
    """What the rollups hold for these values: (bucket, n, min, max), sorted."""
    out: dict[int, list[int]] = {}
    for v in values:
        out.setdefault(bucket(v), []).append(v)
    return [(b, len(vs), min(vs), max(vs)) for b, vs in sorted(out.items())]


def py_bucket(v: int) -> int:
    """The SQL bucket expression, in Python (checked against ClickHouse below)."""
    import math

    return v if v < 64 else 64 + math.floor(math.log(v / 64) / math.log(1.02))


def exact(values: list[int], qv: float) -> int:
    s = sorted(values)
    return s[min(len(s) - 1, int(qv * len(s)))]


def test_hist_quantiles_exact_for_single_values_and_small_samples() -> None:
    assert q.hist_quantiles([]) is None
    assert q.hist_quantiles([(100, 0, 0, 0)]) is None
    h = hist_of([100, 300, 50], py_bucket)
    p50, p90, p95, p99 = q.hist_quantiles(h) or []
    assert (p50, p95) == (100.0, 300.0)  # rank floor(q * n), as quantileExact
    assert q.hist_quantiles(hist_of([7], py_bucket)) == [7.0, 7.0, 7.0, 7.0]
    # inside a bucket: linear between its min and max by rank
    assert q.hist_quantiles([(90, 5, 100, 104)], (0.0, 0.5, 0.99)) == [100.0, 102.0, 104.0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hist_quantiles_within_two_percent(seed: int) -> None:
    rng = random.Random(seed)
    values = [int(rng.gammavariate(2.0, 400.0)) for _ in range(20_000)]
    values += [rng.randint(0, 70) for _ in range(500)] + [
        rng.randint(10**6, 10**9) for _ in range(50)
    ]
    got = q.hist_quantiles(hist_of(values, py_bucket), (0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999))
    assert got is not None
    for qv, g in zip((0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999), got, strict=True):
        want = exact(values, qv)
        assert abs(g - want) <= 0.02 * want + 1e-9, (qv, g, want)


def test_merge_hists_adds_counts_and_keeps_bounds() -> None:
    a = [(1, 2, 1, 1), (70, 3, 80, 81)]
    b = [(70, 1, 79, 80), (90, 1, 120, 120)]
    assert q.merge_hists([a, b]) == [(1, 2, 1, 1), (70, 4, 79, 81), (90, 1, 120, 120)]
    # merging the parts' histograms gives the histogram of all the values
    rng = random.Random(7)
    xs = [rng.randint(0, 5000) for _ in range(3000)]
    parts = [xs[:1000], xs[1000:2500], xs[2500:]]
    assert q.merge_hists([hist_of(p, py_bucket) for p in parts]) == hist_of(xs, py_bucket)


def test_latency_by_channel_merges_channels() -> None:
    rows = [
        {"channel": "email", "hist": [(100, 1, 100, 100)], "latency_count": 1, "latency_sum": 100},
        {"channel": "push", "hist": [(50, 1, 50, 50)], "latency_count": 1, "latency_sum": 50},
    ]
    lat = ov.latency_by_channel(rows)
    assert lat["push"]["latency"] == [50.0] * 4
    assert lat[None]["latency_count"] == 2 and lat[None]["latency_sum"] == 150
    assert lat[None]["latency"] == [100.0] * 4
    assert ov.latency_by_channel([]) == {}


def test_plans_read_the_right_rollups() -> None:
    day = q.DAY_MS
    f = q.Filters(10 * day + 5_000, 40 * day + 7_000)
    lp = q.latency_plan([q.KEY_CHANNEL], f, "rollup")
    assert "latency_daily" in lp.sql and "latency_hourly" in lp.sql
    assert "events_daily" not in lp.sql and q.HAS_LATENCY in lp.sql
    raw = q.latency_plan([q.KEY_CHANNEL], f, "raw")
    assert "latency_" not in raw.sql.replace("latency_ms", "").replace("latency_count", "").replace(
        "latency_sum", ""
    )
    assert q.LATENCY_BUCKET_SQL in raw.sql
    # latency_* is not split by category: a category filter reads latency_split_*
    # (days, 30-day periods) and raw events for the partial days, never latency_hourly
    billing = q.Filters(f.start_ms, f.end_ms, category="billing")
    bp = q.latency_plan([q.KEY_CHANNEL], billing, "rollup")
    assert bp.source == "rollup" and "latency_split_daily" in bp.sql
    assert "latency_hourly" not in bp.sql and "FROM events" in bp.sql
    email = q.Filters(f.start_ms, f.end_ms, channel="email")
    assert q.latency_plan([q.KEY_CHANNEL], email, "rollup").source == "rollup"
    fp = q.funnel_plan(f, "auto")
    assert "funnel_daily" in fp.sql and fp.source == "rollup"
    # funnel_* is not split by category/channel: a filter on one of them reads the
    # daily table split by it; both filters read raw events
    for cat, ch, table in ((None, "email", "channel"), ("billing", None, "category")):
        ep = q.funnel_plan(q.Filters(f.start_ms, f.end_ms, category=cat, channel=ch), "auto")
        assert ep.source == "rollup" and f"funnel_{table}_daily" in ep.sql
        assert "funnel_daily" not in ep.sql and "funnel_hourly" not in ep.sql
    cat_ch = q.Filters(f.start_ms, f.end_ms, category="billing", channel="email")
    assert q.funnel_plan(cat_ch, "auto").source == "raw"
    short = q.Filters(10 * day, 10 * day + q.HOUR_MS)
    assert q.funnel_plan(short, "auto").source == "raw"
    assert ov.latency_plan(q.Filters(0, day, events=("read",)), "raw") is None
    # counts and delivered latency in one statement, with their own parameter names
    both = q.counts_latency_plan([q.KEY_CHANNEL], q.Filters(f.start_ms, 100 * day), "rollup")
    assert both.params["levents"] == ["delivered"] and "events" not in both.params
    assert "latency_30d" in both.sql and "events_daily" in both.sql
    # one scan of raw events answers the counts and the histogram at the edges ...
    edges = q.Filters(f.start_ms + 1234, 100 * day - 5678)
    one = q.counts_latency_plan([q.KEY_CHANNEL], edges, "rollup").sql
    assert one.count("FROM events ") == 1 and "latency_hourly" in one
    # ... but a category filter reads whole days' raw latency, and a raw window is
    # cheaper counted without buckets: two scans
    raw = q.counts_latency_plan([q.KEY_CHANNEL], edges, "raw").sql
    assert raw.count("FROM events ") == 2 and "latency_hourly" not in raw
    billing_edges = q.Filters(edges.start_ms, edges.end_ms, category="billing")
    two = q.counts_latency_plan([], billing_edges, "rollup").sql
    assert two.count("FROM events ") == 2 and "latency_split_daily" in two
    # a filter without deliveries needs no latency: the counts plan alone
    reads = q.Filters(f.start_ms, f.end_ms, events=("read",))
    only = q.counts_latency_plan([], reads, "rollup")
    assert "latency_" not in only.sql.replace("latency_count", "") and "part" not in only.sql


def test_shared_raw_only_when_the_raw_parts_match() -> None:
    day, h = q.DAY_MS, q.HOUR_MS
    start, end = 3 * day + 5 * h + 17, 95 * day + 2 * h + 9
    counts = q.split_ranges(start, end, rollups=q.ROLLUPS)
    latency = q.split_ranges(start, end, rollups=q.LATENCY_ROLLUPS)
    # both end at hourly rollups: the same partial hours at the edges
    assert q.shared_raw(counts, latency) == [(start, 3 * day + 6 * h), (95 * day + 2 * h, end)]
    # the category-split latency is daily only: its raw edges are partial days
    split = q.split_ranges(start, end, rollups=q.LATENCY_SPLIT_ROLLUPS)
    assert q.shared_raw(counts, split) is None
    # aligned windows have no raw part; a whole raw window is shared
    aligned = q.split_ranges(day, 40 * day, rollups=q.ROLLUPS)
    assert q.shared_raw(aligned, q.split_ranges(day, 40 * day, rollups=q.LATENCY_ROLLUPS)) == []
    whole: list[q.Range] = [(None, start, end)]
    assert q.shared_raw(whole, whole) == [(start, end)]
    assert q.shared_raw(whole, latency) is None


async def test_sql_buckets_match_and_stay_within_two_percent(analytics_url: str) -> None:
    """The bucket expression in ClickHouse: the Python twin above, and max/min ≤ 1.02."""
    sink = sink_from_url(analytics_url)
    try:
        await apply_migrations(sink, 400)
        expr = q.LATENCY_BUCKET_SQL.replace("latency_ms", "v")
        r = await sink.query(
            f"SELECT b, min(v), max(v), count() FROM (SELECT toNullable(toUInt32(number)) AS v,"
            f" {expr} AS b FROM numbers(200000)) GROUP BY b ORDER BY b"
        )
        assert len(r.rows) > 300
        prev = -1
        for b, lo, hi, _ in r.rows:
            assert b > prev and py_bucket(int(lo)) == b == py_bucket(int(hi))
            assert hi <= lo * 1.02 or hi - lo < 1
            prev = b
        big = await sink.query(f"SELECT {expr} FROM (SELECT toNullable(toUInt32(4294967295)) AS v)")
        assert big.rows[0][0] == py_bucket(4294967295) < 65536
    finally:
        sink.close()
