"""Local HTTP receivers: a webhook endpoint that checks the hub's signature the way the
README tells integrators to, and an endpoint for Apprise's json:// and form:// targets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web


async def serve(handler: Any) -> tuple[web.AppRunner, str]:
    """An aiohttp server on a loopback port answering every POST with `handler`."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}"


SECRET = "whsec_test_0123456789"


def receiver_check(secret: str, headers: Any, body: bytes) -> bool:
    """The README's verification snippet, written independently of the sender."""
    timestamp = headers["X-Hub-Timestamp"]
    expected = (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, headers["X-Hub-Signature"])


class Receiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.got: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = receiver_check(self.secret, request.headers, body)
        self.got.append(
            {
                "path": request.path,
                "ok": ok,
                "headers": dict(request.headers),
                "json": json.loads(body),
            }
        )
        if not ok:
            return web.Response(status=401)
        status = int(request.query.get("status", "204"))
        if request.query.get("sleep"):
            await asyncio.sleep(float(request.query["sleep"]))
        if status in (301, 302):
            return web.Response(status=status, headers={"Location": "/elsewhere"})
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(SECRET)
    runner, host = await serve(rec.handle)
    rec.url = f"http://{host}"
    yield rec
    await runner.cleanup()


class Endpoint:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.host = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        body = json.loads(raw) if "json" in ctype else dict(await request.post())
        self.got.append({"path": request.path, "body": body})
        return web.Response(status=int(request.query.get("s", "200")))


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = Endpoint()
    runner, ep.host = await serve(ep.handle)
    yield ep
    await runner.cleanup()
