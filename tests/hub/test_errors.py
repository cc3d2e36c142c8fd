"""The error family and its one JSON shape; bad input is a 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.errors import (
    EXCEPTION_HANDLERS,
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
    parse_body,
    parse_query,
)
from tests.conftest import Hub


class Item(BaseModel):
    name: str = Field(max_length=5)
    count: int = 1


async def echo_body(request: Request) -> JSONResponse:
    return JSONResponse((await parse_body(request, Item)).model_dump())


async def echo_query(request: Request) -> JSONResponse:
    return JSONResponse(parse_query(request, Item).model_dump())


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("secret internals")


async def conflict(request: Request) -> JSONResponse:
    raise Conflict("already there", code="dup")


@pytest.fixture
async def client():
    app = Starlette(
        routes=[
            Route("/body", echo_body, methods=["POST"]),
            Route("/query", echo_query),
            Route("/boom", boom),
            Route("/conflict", conflict),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def test_error_shapes() -> None:
    err = Invalid.field("title", "too long")
    assert err.status == 422 and err.to_dict() == {
        "error": {"code": "invalid", "message": "title: too long", "fields": {"title": "too long"}}
    }
    assert NotFound().status == 404 and NotFound().message == "not found"
    assert Unauthorized().headers == {"WWW-Authenticate": "Bearer"}
    assert Unavailable("x").status == 503


async def test_parse_body_and_query(client: httpx.AsyncClient) -> None:
    r = await client.post("/body", json={"name": "ok", "count": 2})
    assert r.json() == {"name": "ok", "count": 2}
    r = await client.post("/body", json={"name": "toolong"})
    assert r.status_code == 422 and list(r.json()["error"]["fields"]) == ["name"]
    r = await client.post("/body", content=b"{bad")
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    r = await client.post("/body", content=b"")
    assert r.status_code == 422 and r.json()["error"]["fields"]["body"]
    r = await client.post("/body", content=b"\xff\xfe")
    assert r.status_code == 422
    r = await client.post("/body", content=b" " * (4 * 1024 * 1024 + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = await client.get("/query", params={"name": "a", "count": "x"})
    assert r.status_code == 422 and "count" in r.json()["error"]["fields"]


async def test_handlers(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal", "message": "internal error", "fields": {}}}
    assert "secret internals" not in r.text
    r = await client.get("/conflict")
    assert r.status_code == 409 and r.json()["error"]["code"] == "dup"
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/query")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_app_unknown_path_is_json_404(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/api/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
