"""Real-time fixtures: the app served by a real uvicorn (in this event loop) and
WebSocket clients from the `websockets` library."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hub.realtime.server import HubServer, config_for
from hub.settings import Settings
from tests.conftest import SECRET, Hub, make_settings, redis_or_skip, start_hub

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Live:
    """The hub on a real loopback port: HTTP through httpx, WebSockets through `websockets`."""

    hub: Hub
    port: int
    server: HubServer
    sockets: list[Any] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fanout(self) -> Any:
        return self.hub.app.state.fanout

    async def ws(
        self,
        user: str | None = None,
        path: str = "/ws/notifications",
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Any:
        if user is not None:
            params.setdefault("token", self.hub.token(user))
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"ws://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")
        ws = await websockets.connect(
            url, additional_headers=headers, open_timeout=5, ping_interval=None, close_timeout=1
        )
        self.sockets.append(ws)
        return ws

    async def ws_ready(self, user: str, **params: Any) -> tuple[Any, dict[str, Any]]:
        """A connected socket for `user` and its ready message."""
        ws = await self.ws(user, **params)
        return ws, await next_of(ws, "ready")


async def recv_json(ws: Any, within: float = 10.0) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), within))
        if msg.get("type") != "ping":
            return msg


async def next_of(ws: Any, kind: str, within: float = 10.0) -> dict[str, Any]:
    """The next message of type `kind` (others before it are skipped)."""
    deadline = time.monotonic() + within
    while True:
        msg = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if msg.get("type") == kind:
            return msg


async def collect(ws: Any, *kinds: str, within: float = 10.0) -> dict[str, dict[str, Any]]:
    """The latest message of each of `kinds`, once every one has arrived (any order)."""
    deadline = time.monotonic() + within
    got: dict[str, dict[str, Any]] = {}
    while set(kinds) - set(got):
        msg = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if msg.get("type") in kinds:
            got[msg["type"]] = msg
    return got


async def nothing_more(ws: Any, wait: float = 0.3) -> None:
    """Assert no further message (except server pings) arrives within `wait` seconds."""
    try:
        msg = await recv_json(ws, wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message {msg}")


async def close_code(ws: Any, within: float = 10.0) -> int | None:
    """Read until the server closes; returns its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Live]:
    """Start the app (lifespan) and a real uvicorn on a free loopback port."""
    async for hub in start_hub(settings):
        config = config_for(
            hub.app, settings, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
        )
        server = HubServer(config, hub.app)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        live = Live(hub=hub, port=port, server=server)
        try:
            yield live
        finally:
            for ws in live.sockets:
                await ws.close()
            server.should_exit = True
            await asyncio.wait_for(task, 15)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """SQLite and Postgres (through `settings`), memory:// fan-out."""
    async with serve(settings.with_(ws_ping_interval=60.0)) as lv:
        yield lv


@pytest.fixture
async def sqlite_live(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(make_settings(sqlite_url, tmp_path, ws_ping_interval=60.0)) as lv:
        yield lv


@pytest.fixture(params=["memory", "redis"])
async def any_live(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Live]:
    """SQLite with the memory:// and the Redis fan-out."""
    url = "memory://" if request.param == "memory" else await redis_or_skip()
    settings = make_settings(sqlite_url, tmp_path, broadcast_url=url, ws_ping_interval=60.0)
    async with serve(settings) as lv:
        yield lv


# ---------------------------------------------------------------- hub processes


@dataclass
class HubProcess:
    """`hub serve` in a subprocess (a real separate process, for scale-out and restarts)."""

    env: dict[str, str]
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 45.0) -> None:
        cmd = [sys.executable, "-m", "hub", "serve", "--port", str(self.port), "--no-workers"]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.env["HUB_VAR_DIR"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("hub serve did not become healthy")

    def stop(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def hub_env(tmp_path: Path, db_url: str, broadcast_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_VAR_DIR": str(tmp_path),
            "HUB_DATABASE_URL": db_url,
            "HUB_BROADCAST_URL": broadcast_url,
            "HUB_BROADCAST_PREFIX": prefix,
            "HUB_ANALYTICS_URL": "",
            "HUB_EMAIL_URL": f"file://{tmp_path}/mail",
            "HUB_SECRET_KEY": SECRET,
            "HUB_RUN_WORKERS": "false",
            "HUB_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@pytest.fixture
def hub_processes() -> Iterator[list[HubProcess]]:
    """Collects started processes and stops whatever a test left running."""
    procs: list[HubProcess] = []
    yield procs
    for p in procs:
        if p.proc is not None and p.proc.poll() is None:
            p.stop()
