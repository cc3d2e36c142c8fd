"""dashboards/figures.py: analytics documents → plotly figures and tables (pure)."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from dashboards import figures

SUMMARY = {
    "from": "2026-01-01T00:00:00.000Z",
    "to": "2026-01-08T00:00:00.000Z",
    "created": 100,
    "sent": 80,
    "delivered": 76,
    "read": 40,
    "clicked": 10,
    "failed": 4,
    "delivery_rate": 0.95,
    "read_rate": 0.4,
    "click_through_rate": 0.1,
    "delivery_latency_ms": {"p50": 1250.0, "p95": 3000.0},
}
FUNNEL = {
    "stages": [
        {
            "stage": "created",
            "notifications": 100,
            "rate_from_start": 1.0,
            "rate_from_previous": None,
        },
        {
            "stage": "delivered",
            "notifications": 76,
            "rate_from_start": 0.76,
            "rate_from_previous": 0.76,
        },
        {
            "stage": "read",
            "notifications": 40,
            "rate_from_start": 0.4,
            "rate_from_previous": 0.5263,
        },
        {
            "stage": "clicked",
            "notifications": 10,
            "rate_from_start": 0.1,
            "rate_from_previous": 0.25,
        },
    ]
}
TIMELINE = {
    "interval": "day",
    "buckets": ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"],
    "series": {"created": [60, 40], "read": [10, 30]},
}
BY_TYPE = {
    "items": [
        {
            "category": "billing",
            "created": 70,
            "delivered": 50,
            "read": 30,
            "clicked": 8,
            "delivery_rate": 0.9,
            "read_rate": 0.43,
            "click_through_rate": 0.11,
        },
        {
            "category": "social",
            "created": 30,
            "delivered": 26,
            "read": 10,
            "clicked": 2,
            "delivery_rate": 1.0,
            "read_rate": 0.33,
            "click_through_rate": 0.07,
        },
    ]
}
BY_METHOD = {
    "items": [
        {"channel": "email", "sent": 50, "delivered": 48, "failed": 2, "read": 0},
        {"channel": "push", "sent": 30, "delivered": 28, "failed": 2, "read": 0},
    ]
}
LATENCY = {
    "channels": [
        {
            "channel": "email",
            "count": 48,
            "avg_ms": 900.0,
            "p50": 800.0,
            "p90": 1500.0,
            "p95": 2000.0,
            "p99": 2900.0,
        },
    ]
}
GRID = [[0] * 24 for _ in range(7)]
GRID[0][9] = 5  # Monday 09:00
GRID[6][23] = 2  # Sunday 23:00
HEATMAP = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "grid": GRID}


def valid(figure: dict) -> go.Figure:
    """plotly itself accepts the figure (unknown properties raise)."""
    return go.Figure(figure)


def test_kpis_show_counts_rates_and_median_latency() -> None:
    cards = {k["id"]: k for k in figures.kpis(SUMMARY)}
    assert list(cards) == ["sent", "delivered", "read", "ctr", "failed", "latency"]
    assert cards["sent"]["text"] == "80"
    assert cards["delivered"]["detail"] == "95.0 % of sent"
    assert cards["ctr"]["text"] == "10.0 %" and cards["ctr"]["detail"] == "10 clicks"
    assert cards["failed"]["value"] == 4
    assert cards["latency"]["text"] == "1.25 s"


def test_kpis_without_data_say_so_instead_of_dividing_by_zero() -> None:
    cards = {k["id"]: k for k in figures.kpis({"sent": 0, "click_through_rate": None})}
    assert cards["ctr"]["text"] == "–"
    assert cards["latency"]["text"] == "–"
    assert figures.kpis({"delivery_latency_ms": {"p50": 42.0}})[-1]["text"] == "42 ms"


def test_funnel_is_a_plotly_funnel_of_the_stages() -> None:
    chart = figures.funnel(FUNNEL)
    fig = valid(chart.figure)
    assert fig.data[0].type == "funnel"
    assert list(fig.data[0].y) == ["created", "delivered", "read", "clicked"]
    assert list(fig.data[0].x) == [100, 76, 40, 10]
    assert chart.rows[1] == ["delivered", 76, 0.76, 0.76]
    assert not chart.empty


def test_funnel_with_no_notifications_is_empty() -> None:
    stages = [{"stage": s, "notifications": 0} for s in ("created", "delivered", "read", "clicked")]
    assert figures.funnel({"stages": stages}).empty


def test_timeline_has_one_line_per_event_and_a_row_per_bucket() -> None:
    chart = figures.timeline(TIMELINE)
    fig = valid(chart.figure)
    assert [t.name for t in fig.data] == ["created", "read"]
    assert list(fig.data[0].y) == [60, 40]
    assert chart.columns == ["bucket", "created", "read"]
    assert chart.rows == [
        ["2026-01-01T00:00:00.000Z", 60, 10],
        ["2026-01-02T00:00:00.000Z", 40, 30],
    ]
    assert "day" in chart.figure["layout"]["title"]["text"]


def test_timeline_of_zeros_is_empty() -> None:
    assert figures.timeline({"buckets": ["a"], "series": {"created": [0]}}).empty


def test_by_category_and_by_channel_are_grouped_bars() -> None:
    cat = figures.by_category(BY_TYPE)
    fig = valid(cat.figure)
    assert fig.layout.barmode == "group"
    assert [t.name for t in fig.data] == ["created", "delivered", "read", "clicked"]
    assert list(fig.data[0].x) == ["billing", "social"] and list(fig.data[0].y) == [70, 30]
    assert cat.rows[0][:5] == ["billing", 70, 50, 30, 8]
    chan = figures.by_channel(BY_METHOD)
    valid(chan.figure)
    assert chan.rows == [
        ["email", 50, 48, 2, 0, None, None, None],
        ["push", 30, 28, 2, 0, None, None, None],
    ]


def test_latency_has_a_bar_per_percentile() -> None:
    chart = figures.latency(LATENCY)
    fig = valid(chart.figure)
    assert [t.name for t in fig.data] == ["p50", "p90", "p95", "p99"]
    assert list(fig.data[3].y) == [2900.0]
    assert chart.rows == [["email", 48, 900.0, 800.0, 1500.0, 2000.0, 2900.0]]
    assert figures.latency({"channels": []}).empty


def test_heatmap_is_seven_days_by_24_hours() -> None:
    chart = figures.heatmap(HEATMAP)
    fig = valid(chart.figure)
    assert fig.data[0].type == "heatmap"
    assert len(fig.data[0].z) == 7 and len(fig.data[0].z[0]) == 24
    assert list(fig.data[0].x)[9] == "09:00"
    assert chart.rows[0][0] == "Mon" and chart.rows[0][1 + 9] == 5
    assert chart.rows[6][24] == 2
    assert figures.heatmap({}).empty


@pytest.mark.parametrize(
    ("hours", "interval"),
    [(1, "minute"), (3, "minute"), (24, "hour"), (24 * 30, "day"), (24 * 365, "week")],
)
def test_choose_interval(hours: int, interval: str) -> None:
    assert figures.choose_interval(hours * 3_600_000) == interval


def test_dashboard_document_holds_every_chart_and_the_filter_choices() -> None:
    doc = figures.dashboard(SUMMARY, FUNNEL, TIMELINE, BY_TYPE, BY_METHOD, LATENCY, HEATMAP)
    assert [c["id"] for c in doc["charts"]] == [
        "funnel",
        "timeline",
        "by_category",
        "by_channel",
        "latency",
        "heatmap",
    ]
    assert doc["categories"] == ["billing", "social"]
    assert doc["channels"] == ["email", "push"]
    assert doc["window"] == {"from": SUMMARY["from"], "to": SUMMARY["to"]}
    assert all(set(c) >= {"figure", "columns", "rows", "empty", "title"} for c in doc["charts"])
