"""A real hub served by uvicorn on a loopback port, for browser tests and bench/pages.py."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from hub.app import create_app
from hub.auth import create_api_key, make_user_token
from hub.db import Database
from hub.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveHub:
    """A running hub: its URL, keys for each scope, and helpers to make data."""

    url: str
    settings: Settings
    app: Any
    loop: asyncio.AbstractEventLoop
    keys: dict[str, str] = field(default_factory=dict)

    def token(self, user_id: str, ttl: int = 3600) -> str:
        return make_user_token(self.settings.secret_key, user_id, ttl=ttl)

    def login_url(self, user_id: str) -> str:
        return f"{self.url}/login?token={self.token(user_id)}"

    def http(self, key: str | None = None, user: str | None = None) -> httpx.Client:
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        elif user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def send(self, user_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"user_id": user_id, "category": "general", "title": "Hello"}
        body.update(fields)
        with self.http("notify") as c:
            r = c.post("/api/notifications", json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()["notifications"][0]

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the server's event loop (for direct DB work)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


async def _make_keys(db: Database) -> dict[str, str]:
    keys = {}
    for scope in ("notify", "activity", "analytics", "admin"):
        _, keys[scope] = await create_api_key(db, f"web-{scope}", [scope])
    return keys


@contextmanager
def serve(settings: Settings) -> Iterator[LiveHub]:
    """Serve the hub in a background thread until the block ends."""
    port = free_port()
    settings = settings.with_(base_url=f"http://127.0.0.1:{port}", port=port)
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(),), name="hub-web-test", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the hub did not start")
        time.sleep(0.05)
    live = LiveHub(url=f"http://127.0.0.1:{port}", settings=settings, app=app, loop=loop)
    live.keys = live.run(_make_keys(app.state.db))
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
