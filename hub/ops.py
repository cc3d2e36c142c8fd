"""Operator endpoints: health and the OpenAPI document."""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
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


def websocket_operations(routes: list[BaseRoute]) -> dict[str, dict[str, Any]]:
    """OpenAPI 3.0 has no WebSocket operation: describe each upgrade as a GET (101)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, WebSocketRoute):
            continue
        doc = inspect.getdoc(route.endpoint) or inspect.getdoc(type(route.endpoint)) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else "WebSocket"
        paths[re.sub(r":\w+}", "}", route.path)] = {
            "get": {
                "summary": f"WebSocket: {summary}",
                "tags": ["realtime"],
                "responses": {"101": {"description": "switching to the WebSocket protocol"}},
            }
        }
    return paths


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of `routes` (endpoint docstrings are YAML fragments)."""
    schema = schemas.get_schema(routes=routes)
    paths = schema.setdefault("paths", {})
    for path, ops in websocket_operations(routes).items():
        paths.setdefault(path, {}).update(ops)
    return schema


async def openapi(request: Request) -> Response:
    """
    summary: This OpenAPI document
    tags: [ops]
    responses:
      200: {description: OpenAPI 3.0 JSON}
    """
    return JSONResponse(document(request.app.routes))


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
