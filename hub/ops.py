"""Operator endpoints: health and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

import hub

schemas = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {"title": "hub", "version": hub.__version__},
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key (hub_k_...) for producers and admins",
                },
                "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session": {"type": "apiKey", "in": "cookie", "name": "hub_session"},
            }
        },
    }
)


async def healthz(request: Request) -> Response:
    """
    summary: Liveness and database reachability
    tags: [ops]
    responses:
      200: {description: healthy}
      503: {description: the database is unreachable}
    """
    checks: dict[str, Any] = {}
    ok = True
    try:
        await request.app.state.db.fetch_val("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {type(exc).__name__}"
        ok = False
    return JSONResponse(
        {"status": "ok" if ok else "error", "checks": checks}, status_code=200 if ok else 503
    )


async def openapi(request: Request) -> Response:
    """
    summary: This document
    tags: [ops]
    """
    return JSONResponse(schemas.get_schema(routes=request.app.routes))


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
]
