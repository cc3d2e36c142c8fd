"""The analyst dashboards: the page, its data (figures built server-side) and plotly.js.

plotly.js is served from the installed plotly Python package, so the page
needs no CDN and no build step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from analytics import params, queries
from analytics.api import runtime_of, store_unavailable
from analytics.overview import overview
from analytics.sink import SinkError
from dashboards import figures
from dashboards.cache import ResultCache, watermark
from dashboards.plotly_css import stylesheet
from hub.auth import require_scope
from hub.db import now_ms
from hub.delivery.base import CHANNELS
from hub.web import page_for

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
INTERVALS = ("auto", *queries.INTERVALS)
# Without `to`, the window ends at the next whole minute rather than at this
# millisecond: the numbers are exact for the window the answer states, and
# requests within the same minute ask the same question, so they can share an
# answer (dashboards/cache.py) until new events are ingested.
OPEN_END_STEP_MS = 60_000


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
      Without `to` the window ends at the next whole minute. Answers are reused
      until new events are ingested (header `x-hub-cache: hit|miss`).
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
    # an automatic interval is chosen to fit the window, so only a given one can have
    # too many buckets (and only a given "minute" has the shorter default window)
    f = params.parse_filters(
        qp, interval=None if interval == "auto" else interval, now=open_end(now_ms())
    )
    if interval == "auto":
        interval = figures.choose_interval(f.end_ms - f.start_ms)
    runtime = runtime_of(request)
    mark = await watermark(request.app.state.db)

    async def compute() -> bytes:
        await runtime.ensure_schema()
        # the ingested total bounds the store's size: a small store is read raw
        ov = await overview(runtime.sink, f, interval, store_rows=mark[1] if mark else 0)
        body: dict[str, Any] = figures.dashboard(*ov.docs())
        body["interval"] = interval
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    key = (f, interval, mark)
    try:
        body, hit = await _cache(request).get_or_compute(key, compute)
    except SinkError as exc:
        raise store_unavailable(exc) from None
    return Response(
        body,
        media_type="application/json",
        headers={"cache-control": "no-store", "x-hub-cache": "hit" if hit else "miss"},
    )


def open_end(now: int) -> int:
    """Pure: where a window without `to` ends: the next whole minute (or now, if whole)."""
    return -(-now // OPEN_END_STEP_MS) * OPEN_END_STEP_MS


def _cache(request: Request) -> ResultCache:
    cache: ResultCache | None = getattr(request.app.state, "dashboards_cache", None)
    if cache is None:
        cache = ResultCache(request.app.state.settings.dashboards_cache_ttl)
        request.app.state.dashboards_cache = cache
    return cache


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
