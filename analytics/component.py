"""Start/stop of analytics inside the app lifespan.

``app.state.analytics`` holds the store (``sink``) and the ``ingester``; the
ingester's loop runs in `hub serve` when HUB_RUN_WORKERS is on (`hub worker`
runs it through ``analytics.ingest.run_ingester`` instead). A store that is down
at start-up does not stop the hub: the schema is applied on first success.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from analytics.ingest import Ingester
from analytics.migrate import apply_migrations
from analytics.sink import Sink, SinkError, sink_from_url
from hub.settings import Settings, obscure_url

log = logging.getLogger("hub.analytics")


@dataclass
class Analytics:
    sink: Sink
    ingester: Ingester
    settings: Settings
    schema_ready: bool = False
    task: asyncio.Task[None] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _schema_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def ensure_schema(self) -> None:
        if self.schema_ready:
            return
        async with self._schema_lock:
            if not self.schema_ready:
                await apply_migrations(self.sink, self.settings.analytics_ttl_days)
                self.schema_ready = True


def build(state: Any, settings: Settings) -> Analytics:
    sink = sink_from_url(settings.analytics_url)
    ingester = Ingester(state.db, sink, settings, state=state)
    runtime = Analytics(sink=sink, ingester=ingester, settings=settings)
    ingester.prepare = runtime.ensure_schema
    return runtime


async def start(app: Starlette) -> None:
    settings: Settings = app.state.settings
    app.state.analytics = None
    if not settings.analytics_url:
        return
    runtime = build(app.state, settings)
    app.state.analytics = runtime
    if settings.migrate_on_start:
        try:
            await runtime.ensure_schema()
        except SinkError as exc:
            log.warning(
                "analytics store %s unavailable at start-up (%s); will retry",
                obscure_url(settings.analytics_url),
                exc,
            )
    if settings.run_workers:
        runtime.task = asyncio.create_task(runtime.ingester.run(runtime.stop_event))


async def stop(app: Starlette) -> None:
    runtime: Analytics | None = getattr(app.state, "analytics", None)
    if runtime is None:
        return
    runtime.stop_event.set()
    if runtime.task is not None:
        try:
            await asyncio.wait_for(runtime.task, timeout=10)
        except TimeoutError:
            runtime.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.task
    runtime.ingester.close()
    runtime.sink.close()
