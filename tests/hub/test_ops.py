"""Operator endpoints: /healthz and /openapi.json."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Mount, Route, WebSocketRoute

from tests.conftest import Hub


async def test_healthz_ok_and_503_when_db_fails(hub: Hub, monkeypatch) -> None:
    r = await hub.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "checks": {"database": "ok"}}

    async def broken(*args: Any, **kw: Any) -> Any:
        raise ConnectionError("db down")

    monkeypatch.setattr(hub.db, "fetch_val", broken)
    r = await hub.client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "error: ConnectionError"


def _operations(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.name == "static":
                continue  # files, not an API
            found |= _operations(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = re.sub(r":\w+}", "}", prefix + route.path)
            for method in route.methods or {"GET"}:
                if method != "HEAD":
                    found.add((path, method.lower()))
        elif isinstance(route, WebSocketRoute):
            found.add((re.sub(r":\w+}", "}", route.path), "get"))
    return found


async def test_openapi_lists_every_route_with_a_summary(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "hub"
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    expected = _operations(sqlite_hub.app.routes)
    missing = sorted(expected - documented)
    assert not missing, f"routes without an OpenAPI docstring: {missing}"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
    # a few contract paths by name
    for path in (
        "/api/notifications",
        "/api/notifications/center",
        "/api/notifications/{id}/read",
        "/r/{id}",
        "/healthz",
    ):
        assert path in doc["paths"], path
