"""create_app(settings): the Starlette application with every route and its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

import analytics.api
import analytics.component
import dashboards.api
import hub.activity.api
import hub.activity.component
import hub.auth_api
import hub.delivery.api
import hub.delivery.component
import hub.devices.api
import hub.notifications.api
import hub.ops
import hub.preferences.api
import hub.realtime.component
import hub.realtime.routes
import hub.users.api
import hub.web
from hub.db import Database
from hub.errors import EXCEPTION_HANDLERS
from hub.security import SecurityHeadersMiddleware
from hub.settings import Settings, load_settings

log = logging.getLogger("hub")

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

# Started in this order, stopped in reverse: the fan-out must exist before
# workers and the ingester publish through it.
COMPONENTS = (
    hub.realtime.component,
    hub.activity.component,
    hub.delivery.component,
    analytics.component,
)


def all_routes() -> list[BaseRoute]:
    return [
        *hub.ops.routes,
        *hub.auth_api.routes,
        *hub.notifications.api.routes,
        *hub.preferences.api.routes,
        *hub.users.api.routes,
        *hub.delivery.api.routes,
        *hub.devices.api.routes,
        *hub.activity.api.routes,
        *hub.realtime.routes.routes,
        *analytics.api.routes,
        *dashboards.api.routes,
        *hub.web.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        await db.connect()
        app.state.db = db
        if settings.migrate_on_start:
            await db.migrate()
        started = []
        try:
            for component in COMPONENTS:
                await component.start(app)
                started.append(component)
            yield
        finally:
            for component in reversed(started):
                try:
                    await component.stop(app)
                except Exception:
                    log.exception("error stopping %s", component.__name__)
            await db.disconnect()

    app = Starlette(
        routes=all_routes(),
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(SecurityHeadersMiddleware)],
    )
    app.state.render_login = hub.web.render_login
    app.state.settings = settings
    return app
