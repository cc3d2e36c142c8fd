"""Every analytics query, shared by the API, the dashboards, the tests and the benchmark.

A window [start, end) is answered from up to three places (``source="rollup"``,
the default for windows over 3 hours): whole days from a daily rollup, whole
hours at the edges from the hourly one, and the partial hours at the very
edges (the recent minutes, typically) from raw ``events``. Every part produces
the same partial aggregates, merged by one outer query, so counts and distinct
notifications are exact whichever part a row came from. A key that needs finer
time than a rollup holds (hour buckets, hour of week) skips the daily level;
minute timelines and ``source="raw"`` read raw events only. The rollups
(``sql/clickhouse/0004_histograms_and_funnel.sql``, ``0005_filtered_rollups.sql``):

- ``events_hourly``/``events_daily``: counts and latency sums per period ×
  event × category × channel (plain sums: cheap to build and to merge);
- ``latency_hourly``/``latency_daily``/``latency_30d``: per period × event × channel, a
  log-scale latency histogram (one bucket per ms below 64 ms, then ×1.02 per
  bucket; count, sum, min and max per bucket) that merges by addition; a
  category filter reads ``latency_split_daily`` (the same histograms per day ×
  event × category × channel; raw events for the partial days at the edges).
  Percentiles are read from the merged
  histogram in Python (`hist_quantiles`): within a bucket the value is
  interpolated between its min and max, so a percentile is within 2 % of the
  exact one (exact when its bucket holds one distinct value). Raw events go
  through the same buckets, so every source gives the same figures;
- ``funnel_hourly``/``funnel_daily``/``funnel_30d``: one bitmap of notification
  ids per period × funnel event (exact distinct counts). Not split by category
  or channel, so bitmaps are large and few; a 30-day period's is dense (bitset
  containers) and costs little to merge. A funnel filtered by category or
  channel merges its slice of ``funnel_category_daily`` or
  ``funnel_channel_daily`` (one bitmap per day × event × category, or ×
  channel; raw events for the partial days at the edges); filtered by both,
  it reads raw events.

The latency and funnel rollups have a third level of 30-day periods counted
from the epoch, used for the middle of long windows.

A raw-only plan aggregates directly (``count()``, ``groupBitmap…``) instead of
building states and merging them in an outer query: the same numbers, a few ms
less per query. ``build(..., sets=...)`` answers several GROUP BYs in one scan
(GROUPING SETS); the dashboards use it (``analytics/overview.py``).

``build`` and the ``shape_*`` functions are pure; the async functions run them on a Sink.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from analytics.sink import Sink
from hub.db import ms_to_iso

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# Epoch day 0 was a Thursday: shifting by 3 days makes weeks start on Monday.
WEEK_OFFSET_MS = 3 * DAY_MS
INTERVALS = {"minute": 60_000, "hour": HOUR_MS, "day": DAY_MS, "week": WEEK_MS}
MAX_BUCKETS = 20_000
SOURCES = ("auto", "raw", "rollup")
QUANTILES = (0.5, 0.9, 0.95, 0.99)
# Windows shorter than this are cheaper to read raw than to merge rollup states.
AUTO_RAW_BELOW_MS = 3 * HOUR_MS

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # heatmap rows, Monday first
MAIN_EVENTS = ("created", "sent", "delivered", "read", "clicked", "failed")
FUNNEL = ("created", "delivered", "read", "clicked")


@dataclass(frozen=True)
class Filters:
    start_ms: int
    end_ms: int
    category: str | None = None
    channel: str | None = None
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Key:
    """A GROUP BY key as written against raw events and against a rollup ({t}: its time)."""

    name: str
    raw: str
    rollup: str
    finest_ms: int = 1 << 62  # the coarsest rollup period this key can be computed from (any)


@dataclass
class Plan:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    source: str = "raw"


# ---------------------------------------------------------------- pure helpers


def bucket_of(ms: int, interval: str) -> int:
    """Pure: the start (epoch ms, UTC) of the bucket holding `ms`."""
    step = INTERVALS[interval]
    offset = WEEK_OFFSET_MS if interval == "week" else 0
    return (ms + offset) // step * step - offset


def bucket_starts(start_ms: int, end_ms: int, interval: str) -> list[int]:
    """Pure: every bucket start covering [start_ms, end_ms), empty ones included."""
    step = INTERVALS[interval]
    out: list[int] = []
    b = bucket_of(start_ms, interval)
    while b < end_ms:
        out.append(b)
        b += step
    return out


def bucket_count(start_ms: int, end_ms: int, interval: str) -> int:
    first = bucket_of(start_ms, interval)
    step = INTERVALS[interval]
    return max(0, -(-(end_ms - first) // step))


Range = tuple[str | None, int, int]  # (rollup table or None for raw events, start, end)
Rollups = tuple[tuple[str, str, int], ...]

# rollup table, its time column, its period; coarsest first
ROLLUPS: Rollups = (("events_daily", "day", DAY_MS), ("events_hourly", "hour", HOUR_MS))
PERIOD_MS = 30 * DAY_MS  # the latency and funnel rollups' coarsest level (since the epoch)
LATENCY_ROLLUPS: Rollups = (
    ("latency_30d", "period", PERIOD_MS),
    ("latency_daily", "day", DAY_MS),
    ("latency_hourly", "hour", HOUR_MS),
)
FUNNEL_ROLLUPS: Rollups = (
    ("funnel_30d", "period", PERIOD_MS),
    ("funnel_daily", "day", DAY_MS),
    ("funnel_hourly", "hour", HOUR_MS),
)
# Split by category and/or channel, at the day level only (0005_filtered_rollups.sql):
# a filtered query reads its slice of them and raw events for the partial days.
LATENCY_SPLIT_ROLLUPS: Rollups = (("latency_split_daily", "day", DAY_MS),)
FUNNEL_CATEGORY_ROLLUPS: Rollups = (("funnel_category_daily", "day", DAY_MS),)
FUNNEL_CHANNEL_ROLLUPS: Rollups = (("funnel_channel_daily", "day", DAY_MS),)


def split_ranges(
    start_ms: int, end_ms: int, finest_ms: int = DAY_MS, rollups: Rollups = ROLLUPS
) -> list[Range]:
    """Pure: [start, end) cut into rollup and raw parts covering every ms exactly once.

    Uses rollups whose period is at most `finest_ms` (what the query's keys can
    be answered from), the coarsest one for the middle of the window.
    """
    levels = [r for r in rollups if r[2] <= finest_ms]

    def cut(a: int, b: int, i: int) -> list[Range]:
        if a >= b:
            return []
        if i >= len(levels):
            return [(None, a, b)]
        table, _, step = levels[i]
        s0 = -(-a // step) * step
        s1 = b // step * step
        if s0 >= s1:
            return cut(a, b, i + 1)
        return [*cut(a, s0, i + 1), (table, s0, s1), *cut(s1, b, i + 1)]

    return cut(start_ms, end_ms, 0)


def choose_source(f: Filters, source: str) -> str:
    if source == "auto":
        return "raw" if f.end_ms - f.start_ms < AUTO_RAW_BELOW_MS else "rollup"
    return source


def bucket_key(interval: str) -> Key:
    step = INTERVALS[interval]
    off = WEEK_OFFSET_MS if interval == "week" else 0

    def expr(ms: str) -> str:
        return f"(intDiv({ms} + {off}, {step}) * {step} - {off})"

    return Key(
        "bucket",
        expr("toUnixTimestamp64Milli(event_time)"),
        expr("(toInt64(toUnixTimestamp({t})) * 1000)"),
        finest_ms=min(step, DAY_MS) if interval != "minute" else 0,
    )


KEY_EVENT = Key("event", "event", "event")
KEY_CATEGORY = Key("category", "category", "category")
KEY_CHANNEL = Key("channel", "channel", "channel")
KEY_HOUR_OF_WEEK = Key(
    "how",
    "(toDayOfWeek(event_time) - 1) * 24 + toHour(event_time)",
    "(toDayOfWeek({t}) - 1) * 24 + toHour({t})",
    finest_ms=HOUR_MS,
)

# The latency histogram's bucket of a raw event: the same expression as the
# latency_hourly view's (sql/clickhouse/0004_histograms_and_funnel.sql).
LATENCY_BUCKET_SQL = (
    "multiIf(assumeNotNull(latency_ms) < 64, toUInt16(assumeNotNull(latency_ms)),"
    " toUInt16(64 + floor(log(assumeNotNull(latency_ms) / 64) / log(1.02))))"
)
KEY_LATENCY_BUCKET = Key("lbucket", LATENCY_BUCKET_SQL, "bucket")
HAS_LATENCY = "latency_ms IS NOT NULL"

# measure name -> (raw state, rollup state, final merge)
MEASURES: dict[str, tuple[str, str, str]] = {
    "events": ("count()", "sum(events)", "sum(events)"),
    "notifications": (
        "groupBitmapState(notification_id)",
        "groupBitmapMergeState(notifications)",
        "groupBitmapMerge(notifications)",
    ),
    # one latency histogram bucket (latency_* rollups; raw rows need HAS_LATENCY)
    "hist_n": ("count()", "sum(n)", "sum(hist_n)"),
    "hist_total": ("sum(assumeNotNull(latency_ms))", "sum(total)", "sum(hist_total)"),
    "hist_lo": ("min(assumeNotNull(latency_ms))", "min(lo)", "min(hist_lo)"),
    "hist_hi": ("max(assumeNotNull(latency_ms))", "max(hi)", "max(hist_hi)"),
}
HIST = ["hist_n", "hist_total", "hist_lo", "hist_hi"]


# measure name -> the plain aggregate over raw events (raw-only plans: no state round trip);
# each gives the same value as its state merged by MEASURES[name][2]
DIRECT: dict[str, str] = {
    "events": "count()",
    "notifications": "groupBitmap(notification_id)",
    **{m: MEASURES[m][0] for m in HIST},
}
# Distinct notifications of the funnel's events only, for a query that groups
# every event type (the dashboards' raw overview).
_IN_FUNNEL = "event IN ('" + "', '".join(FUNNEL) + "')"
MEASURES["funnel_notifications"] = (
    f"groupBitmapStateIf(notification_id, {_IN_FUNNEL})",
    f"groupBitmapMergeStateIf(notifications, {_IN_FUNNEL})",
    "groupBitmapMerge(funnel_notifications)",
)
DIRECT["funnel_notifications"] = f"groupBitmapIf(notification_id, {_IN_FUNNEL})"


def _filters_sql(f: Filters, params: dict[str, Any], prefix: str = "") -> list[str]:
    conds: list[str] = []
    if f.category:
        params[f"{prefix}category"] = f.category
        conds.append(f"category = {{{prefix}category:String}}")
    if f.channel:
        params[f"{prefix}channel"] = f.channel
        conds.append(f"channel = {{{prefix}channel:String}}")
    if f.events:
        params[f"{prefix}events"] = list(f.events)
        conds.append(f"event IN {{{prefix}events:Array(String)}}")
    return conds


def _group_by(names: list[str], sets: Sequence[Sequence[str]] | None) -> str:
    if sets is not None:
        return " GROUP BY GROUPING SETS (" + ", ".join(f"({', '.join(g)})" for g in sets) + ")"
    return f" GROUP BY {', '.join(names)}" if names else ""


def set_mask(names: Sequence[str], group: Sequence[str]) -> int:
    """Pure: what ``grouping(names…)`` answers for rows of the grouping set `group`
    (SQL-standard bits, first name highest: 1 = not in the set)."""
    n = len(names)
    return sum(1 << (n - 1 - i) for i, name in enumerate(names) if name not in group)


def build(
    keys: Sequence[Key],
    measures: Sequence[str],
    f: Filters,
    source: str,
    sets: Sequence[Sequence[str]] | None = None,
    rollups: Rollups = ROLLUPS,
    raw_where: Sequence[str] = (),
) -> Plan:
    """Pure: one aggregate query over [start, end): raw, or rollups + raw edges.

    With `sets` (groups of key names) the outer GROUP BY is GROUPING SETS and each
    row carries ``set_mask`` (see `set_mask`) telling which set it belongs to.
    `rollups`: the tables to read (``ROLLUPS`` and the like); `raw_where`: extra
    conditions on raw events only (the rollups hold no other rows).
    """
    source, ranges = _ranges(keys, f, source, rollups)
    params: dict[str, Any] = {}
    common = _filters_sql(f, params)
    names = [k.name for k in keys]
    group = f" GROUP BY {', '.join(names)}" if names else ""
    mask = [f"grouping({', '.join(names)}) AS set_mask"] if sets is not None else []
    order = f" ORDER BY {', '.join(names)}" if names else ""
    if len(ranges) == 1 and ranges[0][0] is None:
        # one raw part: aggregate directly, no states to build and merge again
        params["p0a"], params["p0b"] = f.start_ms, f.end_ms
        cols = [f"{k.raw} AS {k.name}" for k in keys] + mask
        cols += [f"{DIRECT[m]} AS {m}" for m in measures]
        sql = (
            f"SELECT {', '.join(cols)} FROM events WHERE "
            + " AND ".join([*_raw_window("p0"), *raw_where, *common])
            + _group_by(names, sets)
            + order
        )
        return Plan(sql, params, source)
    # one part per table: the two edges of a window read the same table with an OR
    # of their ranges (each part has a fixed cost in planning and opening data parts)
    windows: dict[str | None, list[str]] = {}
    for i, (table, a, b) in enumerate(ranges):
        p = f"p{i}"
        if table is None:
            params[f"{p}a"], params[f"{p}b"] = a, b
            conds = _raw_window(p)
        else:
            t = next(col for name, col, _ in rollups if name == table)
            params[f"{p}a"], params[f"{p}b"] = a // 1000, b // 1000
            conds = [
                f"{t} >= toDateTime({{{p}a:Int64}}, 'UTC')",
                f"{t} < toDateTime({{{p}b:Int64}}, 'UTC')",
            ]
        windows.setdefault(table, []).append(" AND ".join(conds))
    parts: list[str] = []
    for table, conds in windows.items():
        when = conds[0] if len(conds) == 1 else "(" + " OR ".join(f"({c})" for c in conds) + ")"
        if table is None:
            where = [when, *raw_where]
            cols = [f"{k.raw} AS {k.name}" for k in keys]
            cols += [f"{MEASURES[m][0]} AS {m}" for m in measures]
            table = "events"
        else:
            t = next(col for name, col, _ in rollups if name == table)
            where = [when]
            cols = [f"{k.rollup.replace('{t}', t)} AS {k.name}" for k in keys]
            cols += [f"{MEASURES[m][1]} AS {m}" for m in measures]
        where += common
        parts.append(f"SELECT {', '.join(cols)} FROM {table} WHERE {' AND '.join(where)}{group}")
    outer = names + mask + [f"{MEASURES[m][2]} AS {m}" for m in measures]
    inner = "\nUNION ALL\n".join(parts)
    sql = f"SELECT {', '.join(outer)} FROM (\n{inner}\n){_group_by(names, sets)}{order}"
    return Plan(sql, params, source)


def _ranges(
    keys: Sequence[Key], f: Filters, source: str, rollups: Rollups
) -> tuple[str, list[Range]]:
    """Pure: the plan's source and its parts: the whole window raw (``source="raw"``,
    or a key finer than an hour), else `rollups` + raw edges (`split_ranges`)."""
    source = choose_source(f, source)
    finest = min((k.finest_ms for k in keys), default=1 << 62)
    if source == "raw" or finest < HOUR_MS:
        return "raw", [(None, f.start_ms, f.end_ms)]
    return source, split_ranges(f.start_ms, f.end_ms, finest, rollups)


def _raw_window(p: str) -> list[str]:
    return [
        f"event_time >= fromUnixTimestamp64Milli({{{p}a:Int64}}, 'UTC')",
        f"event_time < fromUnixTimestamp64Milli({{{p}b:Int64}}, 'UTC')",
    ]


def latency_plan(keys: Sequence[Key], f: Filters, source: str) -> Plan:
    """Pure: one latency histogram per key tuple, from the latency rollups + raw edges.

    Rows: the keys, ``hist`` (sorted ``(bucket, n, min, max)`` tuples),
    ``latency_count`` and ``latency_sum`` (exact). ``latency_*`` is not split by
    category: a category filter reads ``latency_split_daily`` and raw events for
    the partial days.
    """
    inner = build(
        [*keys, KEY_LATENCY_BUCKET],
        HIST,
        f,
        source,
        rollups=LATENCY_SPLIT_ROLLUPS if f.category else LATENCY_ROLLUPS,
        raw_where=[HAS_LATENCY],
    )
    names = [k.name for k in keys]
    cols = [
        *names,
        "arraySort(groupArray((lbucket, hist_n, hist_lo, hist_hi))) AS hist",
        "sum(hist_n) AS latency_count",
        "sum(hist_total) AS latency_sum",
    ]
    group = f" GROUP BY {', '.join(names)}" if names else ""
    sql = f"SELECT {', '.join(cols)} FROM (\n{inner.sql}\n){group}"
    return Plan(sql, inner.params, inner.source)


Bucket = tuple[int, int, int, int]  # (bucket, count, min, max)


def merge_hists(hists: Sequence[Sequence[Bucket]]) -> list[Bucket]:
    """Pure: histograms merged as the rollups merge them (counts add, min/max of bounds)."""
    out: dict[int, Bucket] = {}
    for hist in hists:
        for b, n, lo, hi in hist:
            had = out.get(b)
            out[b] = (
                (b, n, lo, hi) if had is None else (b, had[1] + n, min(had[2], lo), max(had[3], hi))
            )
    return [out[b] for b in sorted(out)]


def hist_quantiles(hist: Sequence[Bucket], qs: Sequence[float] = QUANTILES) -> list[float] | None:
    """Pure: percentiles from a sorted latency histogram, None when it is empty.

    The q-quantile is the value of rank ``floor(q × n)`` (0-based, as
    ClickHouse's ``quantileExact``); inside its bucket it is interpolated
    linearly between the bucket's min and max by its rank there. Every value
    of a bucket lies in [min, max] and max/min ≤ 1.02, so the answer is within
    2 % of the exact percentile, and exact when the bucket holds one value.
    """
    total = sum(int(b[1]) for b in hist)
    if not total:
        return None
    out: list[float] = []
    for q in qs:
        k = min(total - 1, int(q * total))
        cum = 0
        for _, n, lo, hi in hist:
            n = int(n)
            if k < cum + n:
                r = k - cum
                out.append(float(lo) if n == 1 else lo + (hi - lo) * r / (n - 1))
                break
            cum += n
    return out


async def run(sink: Sink, plan: Plan) -> list[dict[str, Any]]:
    result = await sink.query(plan.sql, plan.params)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


async def run_latency(sink: Sink, plan: Plan) -> list[dict[str, Any]]:
    """A `latency_plan`'s rows with ``latency`` = [p50, p90, p95, p99] (None if empty)."""
    rows = await run(sink, plan)
    for r in rows:
        r["latency"] = hist_quantiles(r.pop("hist"))
    return rows


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _quantiles(values: Sequence[float] | None, count: int) -> dict[str, float | None]:
    names = ("p50", "p90", "p95", "p99")
    if not values or not count:
        return dict.fromkeys(names)
    return {n: round(float(v), 1) for n, v in zip(names, values, strict=True)}


def window(f: Filters, source: str) -> dict[str, Any]:
    return {"from": ms_to_iso(f.start_ms), "to": ms_to_iso(f.end_ms), "source": source}


# ---------------------------------------------------------------- the queries


def pivot_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(MAIN_EVENTS, 0)
    for r in rows:
        counts[r["event"]] = counts.get(r["event"], 0) + int(r["events"])
    return counts


def _rates(c: dict[str, int]) -> dict[str, float | None]:
    return {
        "delivery_rate": _rate(c["delivered"], c["sent"]),
        "read_rate": _rate(c["read"], c["created"]),
        "click_through_rate": _rate(c["clicked"], c["created"]),
    }


def _delivery_latency(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    d = next((r for r in rows if r["event"] == "delivered"), None)
    lat = _quantiles(d["latency"] if d else None, int(d["latency_count"]) if d else 0)
    return {"p50": lat["p50"], "p95": lat["p95"]}


def shape_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: (event, events, latency…) rows → the summary document."""
    c = pivot_counts(rows)
    return {**c, **_rates(c), "delivery_latency_ms": _delivery_latency(rows)}


# The histogram bucket of a row that is not in the delivered-latency histogram
# (another event, or no latency): above any real bucket (≤ ~1,000 for UInt32 ms).
NO_BUCKET = 65535


def shared_raw(counts: Sequence[Range], latency: Sequence[Range]) -> list[tuple[int, int]] | None:
    """Pure: the raw parts of a counts and a latency split when they are the same
    (one scan of raw events answers both), else None."""
    a = [(s, e) for t, s, e in counts if t is None]
    b = [(s, e) for t, s, e in latency if t is None]
    return a if a == b else None


def _table_when(
    table: str | None,
    spans: Sequence[tuple[int, int]],
    params: dict[str, Any],
    prefix: str,
    rollups: Rollups,
) -> str:
    """The WHERE condition selecting `spans` of `table` (raw events if None), ORed."""
    conds: list[str] = []
    for i, (a, b) in enumerate(spans):
        p = f"{prefix}{i}"
        if table is None:
            params[f"{p}a"], params[f"{p}b"] = a, b
            conds.append(" AND ".join(_raw_window(p)))
        else:
            t = next(col for name, col, _ in rollups if name == table)
            params[f"{p}a"], params[f"{p}b"] = a // 1000, b // 1000
            lo, hi = f"toDateTime({{{p}a:Int64}}, 'UTC')", f"toDateTime({{{p}b:Int64}}, 'UTC')"
            conds.append(f"{t} >= {lo} AND {t} < {hi}")
    return conds[0] if len(conds) == 1 else "(" + " OR ".join(f"({c})" for c in conds) + ")"


def _by_table(ranges: Sequence[Range]) -> dict[str | None, list[tuple[int, int]]]:
    out: dict[str | None, list[tuple[int, int]]] = {}
    for table, a, b in ranges:
        out.setdefault(table, []).append((a, b))
    return out


def counts_latency_plan(keys: Sequence[Key], f: Filters, source: str) -> Plan:
    """Pure: counts per keys + event and the delivered latency histogram per keys +
    event, as one statement (one round trip). Rows: the keys, ``event``,
    ``events``, ``hist`` and ``latency_count`` (empty/0 but for ``delivered``).

    Every branch yields (keys, event, lbucket, events, hist_n, hist_total,
    hist_lo, hist_hi): counts rollups with lbucket = NO_BUCKET, latency
    rollups with hist_* and events = 0; when the counts and the latency splits
    have the same raw edges (always, but with a category filter), one scan of
    raw events gives both (a few ms less than two): every row counts in
    ``events``, and delivered rows with a latency land in their histogram
    bucket, the others in NO_BUCKET. ``events``
    sums every bucket; the histogram is the buckets other than NO_BUCKET. A whole
    raw window keeps two scans: bucketing every row costs more there than a scan.
    Without deliveries in ``f.events`` it is the counts plan alone (no ``hist``).
    """
    kev = [*keys, KEY_EVENT]
    if f.events and "delivered" not in f.events:
        return build(kev, ["events"], f, source)
    lat_rollups = LATENCY_SPLIT_ROLLUPS if f.category else LATENCY_ROLLUPS
    source, c_ranges = _ranges(keys, f, source, ROLLUPS)
    _, l_ranges = _ranges(keys, f, source, lat_rollups)
    # a whole raw window: two scans (the counts need no bucket: cheaper for a long window)
    shared = shared_raw(c_ranges, l_ranges) if source != "raw" else None
    params: dict[str, Any] = {}
    c_where = _filters_sql(f, params)
    l_where = _filters_sql(replace(f, events=("delivered",)), params, "l")
    names = [k.name for k in kev]
    group = f" GROUP BY {', '.join(names)}, lbucket"
    zeros = (
        "toUInt64(0) AS hist_n, toUInt64(0) AS hist_total,"
        " toUInt32(0) AS hist_lo, toUInt32(0) AS hist_hi"
    )
    # the histogram columns as `latency_plan` reads them: [0] raw events, [1] rollups
    hist_raw, hist_rollup = (", ".join(f"{MEASURES[m][i]} AS {m}" for m in HIST) for i in (0, 1))
    no_bucket = f"toUInt16({NO_BUCKET}) AS lbucket"
    parts: list[str] = []

    def part(table: str | None, cols: str, where: list[str], rollups: Rollups) -> None:
        t = next((c for n, c, _ in rollups if n == table), "")
        exprs = [
            f"{k.raw if table is None else k.rollup.replace('{t}', t)} AS {k.name}" for k in kev
        ]
        frm = f" FROM {table or 'events'} WHERE {' AND '.join(where)}"
        parts.append(f"SELECT {', '.join(exprs)}, {cols}{frm}{group}")

    for i, (table, spans) in enumerate(_by_table(c_ranges).items()):
        when = _table_when(table, spans, params, f"p{i}_", ROLLUPS)
        if table is not None:
            part(table, f"{no_bucket}, sum(events) AS events, {zeros}", [when, *c_where], ROLLUPS)
        elif shared is not None:
            # counts and the delivered histogram from one scan
            has = f"event = 'delivered' AND {HAS_LATENCY}"
            cols = (
                f"if({has}, {LATENCY_BUCKET_SQL}, toUInt16({NO_BUCKET})) AS lbucket,"
                " count() AS events, count() AS hist_n, sum(ifNull(latency_ms, 0)) AS hist_total,"
                " min(ifNull(latency_ms, 0)) AS hist_lo, max(ifNull(latency_ms, 0)) AS hist_hi"
            )
            part(None, cols, [when, *c_where], ROLLUPS)
        else:
            part(None, f"{no_bucket}, count() AS events, {zeros}", [when, *c_where], ROLLUPS)
    for i, (table, spans) in enumerate(_by_table(l_ranges).items()):
        if table is None and shared is not None:
            continue
        when = _table_when(table, spans, params, f"lp{i}_", lat_rollups)
        if table is None:
            cols = f"{LATENCY_BUCKET_SQL} AS lbucket, toUInt64(0) AS events, {hist_raw}"
            part(None, cols, [when, HAS_LATENCY, *l_where], lat_rollups)
        else:
            cols = f"bucket AS lbucket, toUInt64(0) AS events, {hist_rollup}"
            part(table, cols, [when, *l_where], lat_rollups)
    keys_sql = ", ".join(names)
    inner = "\nUNION ALL\n".join(parts)
    real = f"lbucket != {NO_BUCKET}"
    sql = (
        f"SELECT {keys_sql}, sum(events) AS events,"
        f" arraySort(groupArrayIf((lbucket, hist_n, hist_lo, hist_hi), {real})) AS hist,"
        f" sumIf(hist_n, {real}) AS latency_count FROM (\n"
        f"SELECT {keys_sql}, lbucket, sum(events) AS events, sum(hist_n) AS hist_n,"
        f" min(hist_lo) AS hist_lo, max(hist_hi) AS hist_hi FROM (\n{inner}\n)"
        f" GROUP BY {keys_sql}, lbucket\n) GROUP BY {keys_sql} ORDER BY {keys_sql}"
    )
    return Plan(sql, params, source)


async def _counts_with_latency(
    sink: Sink, keys: list[Key], f: Filters, source: str
) -> tuple[Plan, list[dict[str, Any]]]:
    """Counts per keys + event, and the latency of delivered events (from the latency
    histograms, in the same statement)."""
    plan = counts_latency_plan(keys, f, source)
    rows = await run(sink, plan)
    empty = {"latency_count": 0, "latency": None}
    out = [
        {**r, **empty} if "hist" not in r else {**r, "latency": hist_quantiles(r.pop("hist"))}
        for r in rows
    ]
    return plan, out


async def summary(sink: Sink, f: Filters, source: str = "auto") -> dict[str, Any]:
    plan, rows = await _counts_with_latency(sink, [], f, source)
    return {**window(f, plan.source), **shape_summary(rows)}


def shape_breakdown(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Pure: (key, event, events, latency…) rows → one dict per key value."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    out: list[dict[str, Any]] = []
    for value, group in groups.items():
        c = pivot_counts(group)
        item: dict[str, Any] = {key: value, **c}
        item["total"] = sum(c.values())
        item.update(_rates(c))
        if "latency" in group[0]:
            item["delivery_latency_ms"] = _delivery_latency(group)
        out.append(item)
    out.sort(key=lambda i: (-i["total"], i[key]))
    return out


async def by_type(sink: Sink, f: Filters, source: str = "auto") -> dict[str, Any]:
    plan = build([KEY_CATEGORY, KEY_EVENT], ["events"], f, source)
    return {**window(f, plan.source), "items": shape_breakdown(await run(sink, plan), "category")}


async def by_method(sink: Sink, f: Filters, source: str = "auto") -> dict[str, Any]:
    plan, rows = await _counts_with_latency(sink, [KEY_CHANNEL], f, source)
    return {**window(f, plan.source), "items": shape_breakdown(rows, "channel")}


def shape_timeline(rows: list[dict[str, Any]], f: Filters, interval: str) -> dict[str, Any]:
    """Pure: (bucket, event, events) rows → aligned series, empty buckets as 0."""
    buckets = bucket_starts(f.start_ms, f.end_ms, interval)
    index = {b: i for i, b in enumerate(buckets)}
    wanted = f.events or MAIN_EVENTS
    series: dict[str, list[int]] = {e: [0] * len(buckets) for e in wanted}
    for r in rows:
        i = index.get(int(r["bucket"]))
        if i is None:
            continue
        series.setdefault(r["event"], [0] * len(buckets))[i] += int(r["events"])
    return {
        "interval": interval,
        "buckets": [ms_to_iso(b) for b in buckets],
        "series": series,
    }


async def timeline(
    sink: Sink, f: Filters, interval: str = "hour", source: str = "auto"
) -> dict[str, Any]:
    plan = build([bucket_key(interval), KEY_EVENT], ["events"], f, source)
    rows = await run(sink, plan)
    return {**window(f, plan.source), **shape_timeline(rows, f, interval)}


def shape_funnel(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pure: distinct notifications per stage, with conversion rates."""
    n = {r["event"]: int(r["notifications"]) for r in rows}
    stages: list[dict[str, Any]] = []
    first = n.get(FUNNEL[0], 0)
    prev: int | None = None
    for stage in FUNNEL:
        value = n.get(stage, 0)
        stages.append(
            {
                "stage": stage,
                "notifications": value,
                "rate_from_start": _rate(value, first),
                "rate_from_previous": _rate(value, prev) if prev is not None else None,
            }
        )
        prev = value
    return stages


def funnel_plan(f: Filters, source: str) -> Plan:
    """Pure: distinct notifications per funnel event. ``funnel_*`` holds one bitmap
    per period × event; a funnel filtered by category or by channel merges its
    slice of the daily table split by that column (``funnel_category_daily``,
    ``funnel_channel_daily``) and raw events for the partial days; filtered by
    both, it reads raw events (1/40 of them: as cheap as 4 bitmaps a day)."""
    f = replace(f, events=FUNNEL)
    rollups = FUNNEL_ROLLUPS
    if f.category and f.channel:
        source = "raw"
    elif f.category:
        rollups = FUNNEL_CATEGORY_ROLLUPS
    elif f.channel:
        rollups = FUNNEL_CHANNEL_ROLLUPS
    return build([KEY_EVENT], ["notifications"], f, source, rollups=rollups)


async def funnel(sink: Sink, f: Filters, source: str = "auto") -> dict[str, Any]:
    plan = funnel_plan(f, source)
    return {**window(f, plan.source), "stages": shape_funnel(await run(sink, plan))}


def shape_latency(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        count = int(r["latency_count"])
        if not count:
            continue
        out.append(
            {
                "channel": r["channel"],
                "count": count,
                "avg_ms": round(int(r["latency_sum"]) / count, 1),
                **_quantiles(r["latency"], count),
            }
        )
    out.sort(key=lambda i: (-i["count"], i["channel"]))
    return out


async def latency(
    sink: Sink, f: Filters, event: str = "delivered", source: str = "auto"
) -> dict[str, Any]:
    f = replace(f, events=(event,))
    plan = latency_plan([KEY_CHANNEL], f, source)
    return {
        **window(f, plan.source),
        "event": event,
        "channels": shape_latency(await run_latency(sink, plan)),
    }


def shape_heatmap(rows: list[dict[str, Any]]) -> list[list[int]]:
    """Pure: hour-of-week rows → 7 rows (Monday first) × 24 hours of counts (UTC)."""
    grid = [[0] * 24 for _ in range(7)]
    for r in rows:
        how = int(r["how"])
        grid[how // 24][how % 24] += int(r["events"])
    return grid


async def heatmap(
    sink: Sink, f: Filters, events: tuple[str, ...] = ("read", "clicked"), source: str = "auto"
) -> dict[str, Any]:
    f = replace(f, events=events)
    plan = build([KEY_HOUR_OF_WEEK], ["events"], f, source)
    return {
        **window(f, plan.source),
        "events": list(events),
        "days": list(DAYS),
        "grid": shape_heatmap(await run(sink, plan)),
    }


# ---------------------------------------------------------------- Postgres baseline

# The same aggregations written for Postgres over an `events` table with the
# outbox's columns (event_time as epoch ms), as a user without ClickHouse would
# run them; bench/analytics.py compares them with the endpoints. $1/$2 = window.
_PG_WINDOW = "event_time >= $1 AND event_time < $2"
POSTGRES_BASELINE: dict[str, str] = {
    "summary": (
        "SELECT event, count(*), percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP"
        " (ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL)"
        f" FROM events WHERE {_PG_WINDOW} GROUP BY event"
    ),
    "by-type": f"SELECT category, event, count(*) FROM events WHERE {_PG_WINDOW} GROUP BY 1, 2",
    "by-method": (
        "SELECT channel, event, count(*), percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP"
        " (ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL)"
        f" FROM events WHERE {_PG_WINDOW} GROUP BY 1, 2"
    ),
    "timeline": (
        "SELECT event_time / :interval * :interval AS bucket, event, count(*)"
        f" FROM events WHERE {_PG_WINDOW} GROUP BY 1, 2 ORDER BY 1"
    ),
    "funnel": (
        "SELECT event, count(DISTINCT notification_id) FROM events"
        f" WHERE {_PG_WINDOW} AND event IN ('created', 'delivered', 'read', 'clicked')"
        " GROUP BY event"
    ),
    "latency": (
        "SELECT channel, count(*), avg(latency_ms), percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99])"
        " WITHIN GROUP (ORDER BY latency_ms) FROM events"
        f" WHERE {_PG_WINDOW} AND event = 'delivered' AND latency_ms IS NOT NULL GROUP BY channel"
    ),
    "heatmap": (
        "SELECT extract(isodow FROM to_timestamp(event_time / 1000.0) AT TIME ZONE 'UTC'),"
        " extract(hour FROM to_timestamp(event_time / 1000.0) AT TIME ZONE 'UTC'), count(*)"
        f" FROM events WHERE {_PG_WINDOW} AND event IN ('read', 'clicked') GROUP BY 1, 2"
    ),
}
