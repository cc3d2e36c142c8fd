"""Slow clients are evicted without slowing others; dead sockets dropped; shutdown closes 1001."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.hub.realtime.conftest import Live, close_code, next_of, serve


async def _raw_ws(live: Live, user: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket handshake by hand, from a client that then never reads or answers pings."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/notifications?token={live.hub.token(user)} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{live.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head
    return reader, writer


async def _until(cond: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_slow_client_is_evicted_and_others_get_everything(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, ws_queue_size=50, ws_ping_interval=60.0)
    async with serve(settings) as live:
        fast, _ = await live.ws_ready("fast")
        _, writer = await _raw_ws(live, "slow")
        await _until(lambda: "slow" in live.fanout.users)
        pad = "x" * 8000
        count = 600  # ~5 MB: far more than the socket buffers hold
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while received < count:
                msg = await next_of(fast, "bulk", 10)
                assert msg["n"] == received
                received += 1

        reader = asyncio.create_task(read_fast())
        for n in range(count):
            await live.fanout.publish_many(
                [("slow", {"type": "bulk", "n": n, "pad": pad}), ("fast", {"type": "bulk", "n": n})]
            )
            if n % 50 == 0:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(reader, 15)
        assert received == count
        await _until(lambda: "slow" not in live.fanout.users)
        assert live.fanout.stats.dropped_slow == 1
        status = await live.fanout.status()
        assert status["process"]["dropped_slow"] == 1
        writer.close()


async def test_dead_connections_are_dropped_by_protocol_pings(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, ws_ping_interval=1.0)
    async with serve(settings) as live:
        alive, _ = await live.ws_ready("alive")  # the websockets client answers pings
        _, writer = await _raw_ws(live, "dead")
        await _until(lambda: "dead" in live.fanout.users)
        await _until(lambda: "dead" not in live.fanout.users, within=10)
        assert "alive" in live.fanout.users
        # the app-level heartbeat reaches live clients too
        assert json.loads(await asyncio.wait_for(alive.recv(), 3)) == {"type": "ping"}
        writer.close()


async def test_shutdown_closes_sockets_with_1001_and_ends_sse(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, ws_ping_interval=60.0)
    async with serve(settings) as live:
        ws1, _ = await live.ws_ready("alice")
        ws2, _ = await live.ws_ready("bob")
        client = httpx.AsyncClient(base_url=live.base, timeout=10)
        sse = await client.send(
            client.build_request(
                "GET", "/api/notifications/stream", headers=live.hub.user("alice")
            ),
            stream=True,
        )
        await _until(lambda: len(live.fanout.conns) == 3)
        started = time.monotonic()
        live.server.should_exit = True
        assert await close_code(ws1) == 1001
        assert await close_code(ws2) == 1001
        body = b"".join([chunk async for chunk in sse.aiter_raw()])
        assert b"retry:" in body
        await _until(lambda: not live.server.started or not live.fanout.conns, within=10)
        assert time.monotonic() - started < 10  # bounded: it never hangs
        await sse.aclose()
        await client.aclose()
        # new sockets are refused while closing
        assert live.fanout.closing
