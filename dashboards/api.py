"""The analyst dashboards: the page, its data (figures built server-side) and plotly.js.

plotly.js is served from the installed plotly Python package, so the page
needs no CDN and no build step.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import plotly
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics import params, queries
from analytics.sink import SinkError
from dashboards import figures
from dashboards.plotly_css import stylesheet
from hub.auth import require_scope
from hub.delivery.base import CHANNELS
from hub.errors import Unavailable
from hub.web import page_for

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
INTERVALS = ("auto", *queries.INTERVALS)


async def dashboards_page(request: Request) -> Response:
    """
    summary: The analytics dashboards page (scope analytics or admin)
    tags: [web]
    responses:
      200: {description: HTML page}
      303: {description: not signed in, sent to /login}
      403: {description: missing the analytics scope}
    """
    return await page_for(
        request, "dashboards.html", "Dashboards", need="analytics", channels=CHANNELS
    )


async def dashboard_data(request: Request) -> Response:
    """
    summary: Every dashboard chart as a plotly figure plus its table, and the KPI cards
    description: >
      Takes the analytics filters (from, to, category, channel) and interval
      (auto, minute, hour, day, week). Each chart carries `figure` (plotly JSON)
      and `columns`/`rows` (the same numbers, for CSV and screen readers).
    tags: [analytics]
    security: [{apiKey: [analytics]}, {session: []}]
    responses:
      200: {description: "{window, kpis, charts: [{id, title, figure, columns, rows, empty}]}"}
      403: {description: missing the analytics scope}
      422: {description: a bad filter (named in fields)}
      503: {description: analytics is disabled or its store is unreachable}
    """
    await require_scope(request, "analytics", "admin")
    qp = request.query_params
    interval = params.choice(qp, "interval", INTERVALS, "auto")
    f = params.parse_filters(qp)
    if interval == "auto":
        interval = figures.choose_interval(f.end_ms - f.start_ms)
    f = params.parse_filters(qp, interval=interval)
    runtime = getattr(request.app.state, "analytics", None)
    if runtime is None:
        raise Unavailable(
            "analytics is turned off (HUB_ANALYTICS_URL is empty)", code="analytics_disabled"
        )
    try:
        await runtime.ensure_schema()
        sink = runtime.sink
        docs = await asyncio.gather(
            queries.summary(sink, f),
            queries.funnel(sink, f),
            queries.timeline(sink, f, interval),
            queries.by_type(sink, f),
            queries.by_method(sink, f),
            queries.latency(sink, f),
            queries.heatmap(sink, f),
        )
    except SinkError as exc:
        raise Unavailable(
            f"the analytics store failed: {exc}", code="analytics_unavailable"
        ) from None
    body = figures.dashboard(*docs)
    body["interval"] = interval
    return JSONResponse(body, headers={"cache-control": "no-store"})


async def plotly_js(request: Request) -> Response:
    """
    summary: plotly.js, from the installed plotly package
    tags: [web]
    responses:
      200: {description: JavaScript}
    """
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400"},
    )


async def plotly_css(request: Request) -> Response:
    """
    summary: plotly.js's style rules as a stylesheet (the CSP forbids injecting them)
    tags: [web]
    responses:
      200: {description: CSS}
    """
    return Response(
        stylesheet(PLOTLY_JS),
        media_type="text/css",
        headers={"cache-control": "public, max-age=86400"},
    )


routes: list[BaseRoute] = [
    Route("/dashboards", dashboards_page, methods=["GET"]),
    Route("/api/dashboards/data", dashboard_data, methods=["GET"]),
    Route("/vendor/plotly.min.js", plotly_js, methods=["GET"]),
    Route("/vendor/plotly.css", plotly_css, methods=["GET"]),
]
