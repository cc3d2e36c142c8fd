"""Every dashboard aggregate from one query (GROUPING SETS), shaped into the same
documents as the separate queries in ``analytics.queries``.

The dashboards used to run nine queries per refresh (summary and by-method took
two each), and chDB runs one query at a time in the process, each with its own
planning and per-part overhead. Here one scan answers the summary, funnel,
timeline, by category, by channel, latency and heatmap at once: every key is
grouped in one pass and each grouping set feeds one document. A long window
over a big store reads the hourly/daily rollups (the funnel's distinct ids then
come from a second, raw query, as in ``queries.funnel``); a small store or a
short window is read raw, where plain aggregates beat merging rollup states.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def plan(f: q.Filters, interval: str, source: str) -> q.Plan:
    """Pure: the one query. Rows carry set_mask; `split` files them by set."""
    keys = [
        q.bucket_key(interval),
        q.KEY_HOUR_OF_WEEK,
        q.KEY_CATEGORY,
        q.KEY_CHANNEL,
        q.KEY_EVENT,
    ]
    assert tuple(k.name for k in keys) == NAMES
    measures = ["events", "latency_sum", "latency_count", "latency_delivered"]
    if q.choose_source(f, source) == "raw" or interval == "minute":
        # read raw anyway (as `build` decides): the funnel's distinct ids come
        # from the same pass; on rollups they need their own raw query
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
        row["latency"] = row.pop("latency_delivered")
        if "funnel_notifications" in row:
            row["notifications"] = row.pop("funnel_notifications")
        out[name].append(row)
    return out


def _counts_only(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{key: r[key], "event": r["event"], "events": r["events"]} for r in rows]


def _with_delivered_latency(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # as queries._counts_with_latency: only delivered rows carry a latency
    empty = {"latency_count": 0, "latency": None}
    return [r if r["event"] == "delivered" else {**r, **empty} for r in rows]


def shape(
    sets: dict[str, list[dict[str, Any]]],
    f: q.Filters,
    interval: str,
    source: str,
    funnel: dict[str, Any] | None = None,
) -> Overview:
    """Pure: the grouping sets → the seven documents of ``analytics.queries``
    (`funnel`: the funnel document when it came from its own query)."""
    window = q.window(f, source)
    delivered = [r for r in sets["channel"] if r["event"] == "delivered"]
    heat = [r for r in sets["how"] if r["event"] in HEATMAP_EVENTS]
    if funnel is None:
        stages = [r for r in sets["event"] if r["event"] in q.FUNNEL]
        funnel = {**window, "stages": q.shape_funnel(stages)}
    return Overview(
        summary={**window, **q.shape_summary(_with_delivered_latency(sets["event"]))},
        funnel=funnel,
        timeline={**window, **q.shape_timeline(sets["bucket"], f, interval)},
        by_type={
            **window,
            "items": q.shape_breakdown(_counts_only(sets["category"], "category"), "category"),
        },
        by_method={
            **window,
            "items": q.shape_breakdown(_with_delivered_latency(sets["channel"]), "channel"),
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
    """The dashboard's documents: one query, or two on rollups (the funnel stays raw)."""
    p = plan(f, interval, choose_source(f, source, store_rows))
    sets = split(await q.run(sink, p))
    if p.source == "raw":
        return shape(sets, f, interval, p.source)
    return shape(sets, f, interval, p.source, funnel=await q.funnel(sink, f))
