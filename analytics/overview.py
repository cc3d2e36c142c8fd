"""Every dashboard aggregate from one query (GROUPING SETS), shaped into the same
documents as the separate queries in ``analytics.queries``.

The dashboards used to run nine queries per refresh (summary and by-method took
two each), and chDB runs one query at a time in the process, each with its own
planning and per-part overhead. Here one scan answers the summary, funnel,
timeline, by category, by channel and heatmap counts at once: every key is
grouped in one pass and each grouping set feeds one document. Delivery latency
comes from one more query, the latency histogram per channel (the summary's
overall percentiles merge those histograms, as SQL would). A long window over a
big store reads the rollups (the funnel's distinct ids then come from the
funnel rollups, as in ``queries.funnel``); a small store or a short window is
read raw, where plain aggregates beat merging rollup states, and the funnel
comes from the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from analytics import queries as q
from analytics.sink import Sink

# At or below this many events in the whole store, any window is read raw:
# one GROUP BY over 1M raw events takes 6–26 ms here (docs/DESIGN.md), while a
# rollup plan has up to five parts whose states must be merged.
RAW_MAX_ROWS = 200_000

HEATMAP_EVENTS = ("read", "clicked")
NAMES = ("bucket", "how", "category", "channel", "event")
SETS: dict[str, tuple[str, ...]] = {
    "event": ("event",),
    "category": ("category", "event"),
    "channel": ("channel", "event"),
    "bucket": ("bucket", "event"),
    "how": ("how", "event"),
}
MASKS = {q.set_mask(NAMES, group): name for name, group in SETS.items()}


@dataclass
class Overview:
    summary: dict[str, Any]
    funnel: dict[str, Any]
    timeline: dict[str, Any]
    by_type: dict[str, Any]
    by_method: dict[str, Any]
    latency: dict[str, Any]
    heatmap: dict[str, Any]

    def docs(self) -> tuple[dict[str, Any], ...]:
        """In the order `dashboards.figures.dashboard` takes them."""
        return (
            self.summary,
            self.funnel,
            self.timeline,
            self.by_type,
            self.by_method,
            self.latency,
            self.heatmap,
        )


def choose_source(f: q.Filters, source: str, store_rows: int | None) -> str:
    """Pure: raw for short windows (as the API does) and for small stores."""
    if source == "auto" and store_rows is not None and store_rows <= RAW_MAX_ROWS:
        return "raw"
    return q.choose_source(f, source)


def latency_plan(f: q.Filters, source: str) -> q.Plan | None:
    """Pure: delivered latency histograms per channel (None: the filter excludes delivered)."""
    if f.events and "delivered" not in f.events:
        return None
    return q.latency_plan([q.KEY_CHANNEL], replace(f, events=("delivered",)), source)


def plan(f: q.Filters, interval: str, source: str) -> q.Plan:
    """Pure: the counts query. Rows carry set_mask; `split` files them by set."""
    keys = [
        q.bucket_key(interval),
        q.KEY_HOUR_OF_WEEK,
        q.KEY_CATEGORY,
        q.KEY_CHANNEL,
        q.KEY_EVENT,
    ]
    assert tuple(k.name for k in keys) == NAMES
    measures = ["events"]  # delivered latency comes from `latency_plan`
    if q.choose_source(f, source) == "raw" or interval == "minute":
        # read raw anyway (as `build` decides): the funnel's distinct ids come
        # from the same pass; on rollups they come from the funnel rollups
        measures.append("funnel_notifications")
    return q.build(keys, measures, f, source, sets=list(SETS.values()))


def split(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Pure: the combined rows by grouping set, each row keeping only its set's keys."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SETS}
    for r in rows:
        name = MASKS[int(r["set_mask"])]
        keep = SETS[name]
        row = {k: v for k, v in r.items() if k not in NAMES or k in keep}
        row.pop("set_mask")
        if "funnel_notifications" in row:
            row["notifications"] = row.pop("funnel_notifications")
        out[name].append(row)
    return out


def _counts_only(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{key: r[key], "event": r["event"], "events": r["events"]} for r in rows]


def _with_delivered_latency(
    rows: list[dict[str, Any]], latency: dict[Any, dict[str, Any]], key: str | None
) -> list[dict[str, Any]]:
    """As queries._counts_with_latency: delivered rows carry the latency of their
    key value (`latency`: key value → {latency_count, latency}), others none."""
    empty = {"latency_count": 0, "latency": None}
    return [
        {**r, **latency.get(r[key] if key else None, empty)}
        if r["event"] == "delivered"
        else {**r, **empty}
        for r in rows
    ]


def latency_by_channel(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Pure: per-channel histogram rows → channel (and None: every channel merged) →
    {latency_count, latency_sum, latency: [p50, p90, p95, p99]}."""
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        out[r["channel"]] = {
            "latency_count": int(r["latency_count"]),
            "latency_sum": int(r["latency_sum"]),
            "latency": q.hist_quantiles(r["hist"]),
        }
    if rows:
        merged = q.merge_hists([r["hist"] for r in rows])
        out[None] = {
            "latency_count": sum(int(r["latency_count"]) for r in rows),
            "latency_sum": sum(int(r["latency_sum"]) for r in rows),
            "latency": q.hist_quantiles(merged),
        }
    return out


def shape(
    sets: dict[str, list[dict[str, Any]]],
    f: q.Filters,
    interval: str,
    source: str,
    funnel: dict[str, Any] | None = None,
    latency: list[dict[str, Any]] | None = None,
) -> Overview:
    """Pure: the grouping sets → the seven documents of ``analytics.queries``
    (`funnel`: the funnel document when it came from its own query; `latency`:
    the delivered latency histogram rows per channel, see `latency_plan`)."""
    window = q.window(f, source)
    lat = latency_by_channel(latency or [])
    delivered = [
        {"channel": ch, **v} for ch, v in lat.items() if ch is not None and v["latency_count"]
    ]
    heat = [r for r in sets["how"] if r["event"] in HEATMAP_EVENTS]
    if funnel is None:
        stages = [r for r in sets["event"] if r["event"] in q.FUNNEL]
        funnel = {**window, "stages": q.shape_funnel(stages)}
    return Overview(
        summary={
            **window,
            **q.shape_summary(_with_delivered_latency(sets["event"], lat, None)),
        },
        funnel=funnel,
        timeline={**window, **q.shape_timeline(sets["bucket"], f, interval)},
        by_type={
            **window,
            "items": q.shape_breakdown(_counts_only(sets["category"], "category"), "category"),
        },
        by_method={
            **window,
            "items": q.shape_breakdown(
                _with_delivered_latency(sets["channel"], lat, "channel"), "channel"
            ),
        },
        latency={**window, "event": "delivered", "channels": q.shape_latency(delivered)},
        heatmap={
            **window,
            "events": list(HEATMAP_EVENTS),
            "days": list(q.DAYS),
            "grid": q.shape_heatmap(heat),
        },
    )


async def overview(
    sink: Sink,
    f: q.Filters,
    interval: str,
    source: str = "auto",
    store_rows: int | None = None,
) -> Overview:
    """The dashboard's documents: the counts query and the latency histograms, plus
    the funnel's own query on rollups."""
    p = plan(f, interval, choose_source(f, source, store_rows))
    sets = split(await q.run(sink, p))
    lp = latency_plan(f, p.source)
    latency = await q.run(sink, lp) if lp is not None else []
    funnel = None if p.source == "raw" else await q.funnel(sink, f, p.source)
    return shape(sets, f, interval, p.source, funnel=funnel, latency=latency)
