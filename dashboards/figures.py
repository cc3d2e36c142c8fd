"""Analytics answers → plotly figure dicts and CSV tables (pure, no I/O).

Every chart is a `Chart`: the plotly figure (plain JSON-able dicts, rendered
by plotly.js in the page) and the same numbers as a table, so each chart can
be downloaded as CSV and read by screen readers. The inputs are the documents
`analytics.queries` returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Colour-blind-safe (Okabe-Ito), readable on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
EVENT_COLOURS = {
    "created": "#0072B2",
    "sent": "#56B4E9",
    "delivered": "#009E73",
    "read": "#E69F00",
    "clicked": "#CC79A7",
    "failed": "#D55E00",
}
HOURS = [f"{h:02d}:00" for h in range(24)]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class Chart:
    id: str
    title: str
    figure: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "empty": self.empty}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 44, "b": 48},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1b1f24"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.2},
        "autosize": True,
        "hovermode": "closest",
    }
    layout.update(extra)
    return layout


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def kpis(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline numbers: sent, delivered, read, click-through, failures, median latency."""
    latency = (summary.get("delivery_latency_ms") or {}).get("p50")
    return [
        {
            "id": "sent",
            "label": "Sent",
            "value": summary.get("sent", 0),
            "text": f"{summary.get('sent', 0):,}",
        },
        {
            "id": "delivered",
            "label": "Delivered",
            "value": summary.get("delivered", 0),
            "text": f"{summary.get('delivered', 0):,}",
            "detail": f"{_pct(summary.get('delivery_rate'))} of sent",
        },
        {
            "id": "read",
            "label": "Read",
            "value": summary.get("read", 0),
            "text": f"{summary.get('read', 0):,}",
            "detail": f"{_pct(summary.get('read_rate'))} of created",
        },
        {
            "id": "ctr",
            "label": "Click-through",
            "value": summary.get("click_through_rate"),
            "text": _pct(summary.get("click_through_rate")),
            "detail": f"{summary.get('clicked', 0):,} clicks",
        },
        {
            "id": "failed",
            "label": "Failures",
            "value": summary.get("failed", 0),
            "text": f"{summary.get('failed', 0):,}",
        },
        {
            "id": "latency",
            "label": "Median delivery latency",
            "value": latency,
            "text": _ms(latency),
        },
    ]


def funnel(doc: dict[str, Any]) -> Chart:
    stages = doc.get("stages") or []
    names = [s["stage"] for s in stages]
    values = [s["notifications"] for s in stages]
    figure = {
        "data": [
            {
                "type": "funnel",
                "y": names,
                "x": values,
                "textinfo": "value+percent initial",
                "marker": {"color": [EVENT_COLOURS.get(n, PALETTE[0]) for n in names]},
            }
        ],
        "layout": _layout(
            "Delivery funnel (distinct notifications)", margin={"l": 90, "r": 16, "t": 44, "b": 32}
        ),
    }
    rows = [
        [s["stage"], s["notifications"], s.get("rate_from_start"), s.get("rate_from_previous")]
        for s in stages
    ]
    if not any(values):
        rows = []
    return Chart(
        "funnel",
        "Delivery funnel",
        figure,
        ["stage", "notifications", "rate_from_start", "rate_from_previous"],
        rows,
    )


def timeline(doc: dict[str, Any]) -> Chart:
    buckets = doc.get("buckets") or []
    series: dict[str, list[int]] = doc.get("series") or {}
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": event,
            "x": buckets,
            "y": values,
            "line": {"color": EVENT_COLOURS.get(event, PALETTE[i % len(PALETTE)]), "width": 2},
        }
        for i, (event, values) in enumerate(series.items())
    ]
    figure = {
        "data": data,
        "layout": _layout(
            f"Events per {doc.get('interval', 'hour')}",
            xaxis={"type": "date"},
            yaxis={"rangemode": "tozero", "title": {"text": "events"}},
            hovermode="x unified",
        ),
    }
    events = list(series)
    rows = [[b, *(series[e][i] for e in events)] for i, b in enumerate(buckets)]
    if not any(any(v) for v in series.values()):
        rows = []
    return Chart("timeline", "Timeline by event type", figure, ["bucket", *events], rows)


def _breakdown(
    doc: dict[str, Any], key: str, events: tuple[str, ...], chart_id: str, title: str
) -> Chart:
    items = doc.get("items") or []
    labels = [str(i[key] or "(none)") for i in items]
    data = [
        {
            "type": "bar",
            "name": event,
            "x": labels,
            "y": [i.get(event, 0) for i in items],
            "marker": {"color": EVENT_COLOURS.get(event, PALETTE[n % len(PALETTE)])},
        }
        for n, event in enumerate(events)
    ]
    figure = {
        "data": data,
        "layout": _layout(title, barmode="group", yaxis={"rangemode": "tozero"}),
    }
    columns = [key, *events, "delivery_rate", "read_rate", "click_through_rate"]
    rows = [
        [
            i[key],
            *(i.get(e, 0) for e in events),
            i.get("delivery_rate"),
            i.get("read_rate"),
            i.get("click_through_rate"),
        ]
        for i in items
    ]
    return Chart(chart_id, title, figure, columns, rows)


def by_category(doc: dict[str, Any]) -> Chart:
    return _breakdown(
        doc, "category", ("created", "delivered", "read", "clicked"), "by_category", "By category"
    )


def by_channel(doc: dict[str, Any]) -> Chart:
    return _breakdown(
        doc, "channel", ("sent", "delivered", "failed", "read"), "by_channel", "By channel"
    )


def latency(doc: dict[str, Any]) -> Chart:
    channels = doc.get("channels") or []
    names = [c["channel"] or "(none)" for c in channels]
    data = [
        {
            "type": "bar",
            "name": q,
            "x": names,
            "y": [c.get(q) for c in channels],
            "marker": {"color": PALETTE[n]},
        }
        for n, q in enumerate(("p50", "p90", "p95", "p99"))
    ]
    figure = {
        "data": data,
        "layout": _layout(
            "Delivery latency percentiles per channel (ms)",
            barmode="group",
            yaxis={"rangemode": "tozero", "title": {"text": "ms"}},
        ),
    }
    rows = [
        [
            c["channel"],
            c["count"],
            c.get("avg_ms"),
            c.get("p50"),
            c.get("p90"),
            c.get("p95"),
            c.get("p99"),
        ]
        for c in channels
    ]
    return Chart(
        "latency",
        "Latency percentiles per channel",
        figure,
        ["channel", "count", "avg_ms", "p50", "p90", "p95", "p99"],
        rows,
    )


def heatmap(doc: dict[str, Any]) -> Chart:
    grid: list[list[int]] = doc.get("grid") or [[0] * 24 for _ in range(7)]
    days = doc.get("days") or DAYS
    figure = {
        "data": [
            {
                "type": "heatmap",
                "z": grid,
                "x": HOURS,
                "y": days,
                "colorscale": "Viridis",
                "hovertemplate": "%{y} %{x} UTC: %{z}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Engagement by hour of week (reads and clicks, UTC)",
            yaxis={"autorange": "reversed"},
            xaxis={"tickangle": -45, "dtick": 3},
        ),
    }
    rows = [[day, *grid[i]] for i, day in enumerate(days)]
    if not any(any(r) for r in grid):
        rows = []
    return Chart("heatmap", "Hour-of-week engagement", figure, ["day", *HOURS], rows)


def choose_interval(window_ms: int) -> str:
    """A timeline interval that gives a readable number of points for the window."""
    hour = 3_600_000
    if window_ms <= 3 * hour:
        return "minute"
    if window_ms <= 3 * 24 * hour:
        return "hour"
    if window_ms <= 120 * 24 * hour:
        return "day"
    return "week"


def dashboard(
    summary: dict[str, Any],
    funnel_doc: dict[str, Any],
    timeline_doc: dict[str, Any],
    by_type_doc: dict[str, Any],
    by_method_doc: dict[str, Any],
    latency_doc: dict[str, Any],
    heatmap_doc: dict[str, Any],
) -> dict[str, Any]:
    """The whole dashboard document the page renders."""
    charts = [
        funnel(funnel_doc),
        timeline(timeline_doc),
        by_category(by_type_doc),
        by_channel(by_method_doc),
        latency(latency_doc),
        heatmap(heatmap_doc),
    ]
    return {
        "window": {"from": summary.get("from"), "to": summary.get("to")},
        "kpis": kpis(summary),
        "charts": [c.to_json() for c in charts],
        "categories": sorted(
            str(i["category"]) for i in by_type_doc.get("items") or [] if i.get("category")
        ),
        "channels": sorted(
            str(i["channel"]) for i in by_method_doc.get("items") or [] if i.get("channel")
        ),
    }
