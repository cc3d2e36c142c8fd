"""hub/realtime/server.py: the event loop `hub serve` runs on, its GC settings, and
responses written in one piece by the HTTP protocol subclass."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvloop

from hub.realtime import server as hub_server
from hub.realtime.server import GC_THRESHOLDS, HubServer, config_for
from hub.settings import Settings
from tests.conftest import make_settings


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return make_settings(f"sqlite:///{tmp_path}/hub.db", tmp_path, **kw)


def test_hub_serve_runs_on_uvloop_unless_told_otherwise(tmp_path: Path) -> None:
    for choice, expected in [("auto", uvloop.Loop), ("uvloop", uvloop.Loop)]:
        factory = config_for(None, _settings(tmp_path, event_loop=choice)).get_loop_factory()
        assert factory is not None
        loop = factory()
        try:
            assert isinstance(loop, expected)
        finally:
            loop.close()
    factory = config_for(None, _settings(tmp_path, event_loop="asyncio")).get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert not isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()
    with pytest.raises(ValueError, match="HUB_EVENT_LOOP"):
        config_for(None, _settings(tmp_path, event_loop="trio"))


# ---------------------------------------------------------------- one write per response

release = asyncio.Event()


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/json: a plain response; /slow: the body only after `release`; /broken: fails
    after starting its response."""
    if scope["type"] == "lifespan":
        return
    path = scope["path"]
    body = b'{"ok":true}'
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/json")],
    }
    if path == "/slow":
        await send(start)
        await release.wait()
        await send({"type": "http.response.body", "body": b"late", "more_body": False})
        return
    start["headers"].append((b"content-length", str(len(body)).encode()))
    await send(start)
    if path == "/broken":
        raise RuntimeError("broken after start")
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def tiny_server(tmp_path: Path, freeze_gc: bool = False) -> AsyncIterator[int]:
    config = config_for(
        tiny_app,
        _settings(tmp_path),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="critical",
    )
    server = HubServer(config, type("App", (), {"state": None})(), freeze_gc=freeze_gc)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def request(port: int, line: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{line} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return reader, writer


async def test_a_response_head_and_body_go_out_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []

    class Spy:
        """The real transport, recording every write the server makes on it."""

        def __init__(self, transport: Any) -> None:
            self.transport = transport

        def write(self, data: bytes) -> None:
            writes.append(data)
            self.transport.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.transport, name)

    def holder_init(self: Any, transport: Any) -> None:
        self.transport = Spy(transport)
        self.holding = False
        self.held = None

    monkeypatch.setattr(hub_server._HeadHolder, "__init__", holder_init)
    release.clear()
    async with tiny_server(tmp_path) as port:
        # a plain response: status line, headers and body in one write
        reader, writer = await request(port, "GET /json")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 11" in head
        assert await asyncio.wait_for(reader.readexactly(11), 5) == b'{"ok":true}'
        assert len(writes) == 1 and writes[0].endswith(b'\r\n\r\n{"ok":true}')
        # HEAD: no body, the head still goes out (keep-alive connection reused)
        writes.clear()
        writer.write(b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and len(writes) == 1
        writer.close()

        # a streamed response gets its head before its body, within the loop pass
        writes.clear()
        reader, writer = await request(port, "GET /slow")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"transfer-encoding: chunked" in head
        release.set()
        assert (
            await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5) == b"4\r\nlate\r\n0\r\n\r\n"
        )
        assert len(writes) == 2  # the head alone first, then the body
        writer.close()

        # an app failing after it started: the head it sent, then the connection closes
        reader, writer = await request(port, "GET /broken")
        got = await asyncio.wait_for(reader.read(), 5)
        assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"\r\n\r\n")
        writer.close()


async def test_hub_serve_freezes_the_start_up_heap_and_raises_gc_thresholds(
    tmp_path: Path,
) -> None:
    before = gc.get_threshold()
    try:
        async with tiny_server(tmp_path, freeze_gc=True):
            assert gc.get_threshold() == GC_THRESHOLDS != before
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


async def test_hub_serve_opens_its_database_pool_at_start_up(settings: Settings) -> None:
    """On Postgres the pool holds POOL_WARM connections before the first request; on
    SQLite (one connection) nothing changes."""
    from tests.conftest import start_hub

    async for hub in start_hub(settings):
        config = config_for(
            hub.app, settings, host="127.0.0.1", port=0, lifespan="off", log_level="critical"
        )
        server = HubServer(config, hub.app, warm_pool=True)
        await server._warm_pool()
        if hub.db.is_postgres:
            pool = hub.db._db._backend._pool
            assert pool.get_size() >= hub_server.POOL_WARM
            assert pool.get_idle_size() >= hub_server.POOL_WARM  # all handed back
        assert await hub.db.fetch_val("SELECT 1") == 1
