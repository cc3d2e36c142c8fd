"""The analytics API, ingest status and the admin SQL console endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics import queries
from analytics.component import Analytics
from analytics.events import EVENT_TYPES
from analytics.ingest import ingest_status
from analytics.params import choice, parse_filters
from analytics.sink import Sink, SinkError
from analytics.sql_console import load_examples, run_console
from hub.auth import require_scope
from hub.errors import HubError, Invalid, parse_json

Query = Callable[[Sink], Awaitable[dict[str, Any]]]


def runtime_of(request: Request) -> Analytics:
    runtime: Analytics | None = getattr(request.app.state, "analytics", None)
    if runtime is None:
        raise HubError(
            "analytics is disabled (HUB_ANALYTICS_URL is empty)",
            code="analytics_disabled",
            status=503,
        )
    return runtime


def store_unavailable(exc: SinkError) -> HubError:
    return HubError(
        f"the analytics store is unavailable: {exc}", code="analytics_unavailable", status=503
    )


async def _answer(request: Request, fn: Query) -> Response:
    """Run a query built from already-checked parameters; store failures are 503."""
    runtime = runtime_of(request)
    try:
        await runtime.ensure_schema()
        body = await fn(runtime.sink)
    except SinkError as exc:
        raise store_unavailable(exc) from None
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _source(request: Request) -> str:
    return choice(request.query_params, "source", queries.SOURCES, "auto")


async def summary(request: Request) -> Response:
    """
    summary: Totals and rates for a window (created, sent, delivered, read, clicked, failed)
    description: >
      Query: from, to (ISO 8601; default the last 7 days), category, channel,
      source=auto|raw|rollup. delivery_rate = delivered/sent, read_rate =
      read/created, click_through_rate = clicked/created; latency of delivered events.
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: the summary}
      422: {description: a parameter is invalid (named in error.fields)}
      503: {description: analytics disabled or the store is unavailable}
    """
    await require_scope(request, "analytics")
    f = parse_filters(request.query_params)
    source = _source(request)
    return await _answer(request, lambda sink: queries.summary(sink, f, source))


async def by_type(request: Request) -> Response:
    """
    summary: Counts and rates per notification type (category)
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{items: [{category, created, sent, delivered, read, clicked, ...}]}"}
      422: {description: a parameter is invalid}
    """
    await require_scope(request, "analytics")
    f = parse_filters(request.query_params)
    source = _source(request)
    return await _answer(request, lambda sink: queries.by_type(sink, f, source))


async def by_method(request: Request) -> Response:
    """
    summary: Counts, rates and delivery latency per delivery method (channel)
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{items: [{channel, sent, delivered, failed, delivery_latency_ms, ...}]}"}
      422: {description: a parameter is invalid}
    """
    await require_scope(request, "analytics")
    f = parse_filters(request.query_params)
    source = _source(request)
    return await _answer(request, lambda sink: queries.by_method(sink, f, source))


async def timeline(request: Request) -> Response:
    """
    summary: Event counts per time bucket, empty buckets filled with 0
    description: >
      interval=minute|hour|day|week (UTC; weeks start on Monday), from, to,
      category, channel, events (comma-separated event types; default the main six).
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{interval, buckets: [iso], series: {event: [count per bucket]}}"}
      422: {description: a parameter is invalid (e.g. too many buckets)}
    """
    await require_scope(request, "analytics")
    interval = choice(request.query_params, "interval", tuple(queries.INTERVALS), "hour")
    f = parse_filters(request.query_params, interval=interval)
    source = _source(request)
    return await _answer(request, lambda sink: queries.timeline(sink, f, interval, source))


async def funnel(request: Request) -> Response:
    """
    summary: Distinct notifications per stage, created → delivered → read → clicked
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{stages: [{stage, notifications, rate_from_start, rate_from_previous}]}"}
      422: {description: a parameter is invalid}
    """
    await require_scope(request, "analytics")
    f = parse_filters(request.query_params)
    source = _source(request)
    return await _answer(request, lambda sink: queries.funnel(sink, f, source))


async def latency(request: Request) -> Response:
    """
    summary: Latency percentiles (p50/p90/p95/p99) per channel
    description: >
      event=delivered (default) or any event type carrying latency_ms. Percentiles
      come from log-scale histograms (within 2 % of the exact value; exact below 64 ms).
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{channels: [{channel, count, avg_ms, p50, p90, p95, p99}]}"}
      422: {description: a parameter is invalid}
    """
    await require_scope(request, "analytics")
    event = choice(request.query_params, "event", EVENT_TYPES, "delivered")
    f = parse_filters(request.query_params)
    source = _source(request)
    return await _answer(request, lambda sink: queries.latency(sink, f, event, source))


async def heatmap(request: Request) -> Response:
    """
    summary: Engagement (read + clicked by default) per hour of the week, UTC
    tags: [analytics]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{days, grid: 7 x 24 counts, Monday first}"}
      422: {description: a parameter is invalid}
    """
    await require_scope(request, "analytics")
    f = parse_filters(request.query_params)
    events = f.events or ("read", "clicked")
    source = _source(request)
    return await _answer(request, lambda sink: queries.heatmap(sink, f, events, source))


async def status(request: Request) -> Response:
    """
    summary: Ingest backlog (outbox rows waiting) and lag (age of the oldest)
    tags: [analytics, ops]
    security: [{apiKey: [analytics]}]
    responses:
      200: {description: "{enabled, backlog, lag_ms, ingested_total, last_batch_at, ...}"}
    """
    await require_scope(request, "analytics")
    return JSONResponse(await ingest_status(request.app.state))


async def sql_console(request: Request) -> Response:
    """
    summary: Run one read-only SQL statement on the analytics store (admin)
    description: >
      Body {"query": "SELECT ..."}. Runs with readonly=1, max_execution_time=10 s
      and at most 1,000 rows returned (truncated=true beyond). INSERT, ALTER,
      DROP, SYSTEM, CREATE, ... are refused.
    tags: [admin]
    security: [{apiKey: [admin]}]
    requestBody:
      content:
        application/json:
          example: {"query": "SELECT event, count() FROM events GROUP BY event"}
    responses:
      200: {description: "{columns: [{name, type}], rows, row_count, truncated, elapsed_ms}"}
      400: {description: "ClickHouse refused the query (code sql_error, with its message)"}
      422: {description: "not one read-only statement (code sql_forbidden) or no query"}
      503: {description: analytics disabled or the store is unavailable}
    """
    await require_scope(request, "admin")
    body = await parse_json(request, max_bytes=64 * 1024)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise Invalid.field("query", "a SQL statement (string) is required")
    runtime = runtime_of(request)
    try:
        await runtime.ensure_schema()
    except SinkError as exc:
        raise store_unavailable(exc) from None
    return JSONResponse(await run_console(runtime.sink, body["query"]))


async def sql_examples(request: Request) -> Response:
    """
    summary: Example queries for the SQL console (from sql/clickhouse/examples/)
    tags: [admin]
    security: [{apiKey: [admin]}]
    responses:
      200: {description: "{examples: [{name, title, sql}]}"}
    """
    await require_scope(request, "admin")
    return JSONResponse({"examples": load_examples()})


routes: list[BaseRoute] = [
    Route("/api/notifications/analytics/summary", summary, methods=["GET"]),
    Route("/api/notifications/analytics/by-type", by_type, methods=["GET"]),
    Route("/api/notifications/analytics/by-method", by_method, methods=["GET"]),
    Route("/api/notifications/analytics/timeline", timeline, methods=["GET"]),
    Route("/api/notifications/analytics/funnel", funnel, methods=["GET"]),
    Route("/api/notifications/analytics/latency", latency, methods=["GET"]),
    Route("/api/notifications/analytics/heatmap", heatmap, methods=["GET"]),
    Route("/api/analytics/status", status, methods=["GET"]),
    Route("/api/admin/sql", sql_console, methods=["POST"]),
    Route("/api/admin/sql/examples", sql_examples, methods=["GET"]),
]
