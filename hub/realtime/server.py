"""Serving the app with uvicorn so that live connections end cleanly.

uvicorn closes WebSockets with 1012 and waits forever for streaming
responses (SSE never ends by itself). ``HubServer`` first stops accepting,
then closes every live connection with 1001 (going away) and ends SSE
streams, so shutdown never hangs; clients reconnect to another process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from hub.auth_api import install_log_redaction
from hub.settings import Settings

log = logging.getLogger("hub.realtime")

GRACEFUL_TIMEOUT_S = 10
GC_THRESHOLDS = (10_000, 20, 100)  # `hub serve`'s, after the start-up freeze
POOL_WARM = 6  # Postgres connections `hub serve` opens at start-up (the pool's minimum is 1)
RAW_EXTENSION = "hub.websocket.raw"  # after this, uvicorn cancels whatever still runs


class _LeanQueue:
    """What the protocol needs of asyncio.Queue (one consumer), without its three deques."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class _LeanEvent:
    """What the protocol needs of asyncio.Event, without a deque per socket."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for fut in waiters or ():
            if not fut.done():
                fut.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        fut = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, leaner and with a direct write.

    - The handshake request and response (headers and all) would stay referenced
      for the socket's whole life: about 4 KB of each idle connection.
    - Its receive queue and writable event are replaced by lean equivalents
      (asyncio's keep a deque each: about 3 KB per socket).
    - A broadcast to 10,000 sockets would frame the same text 10,000 times through
      the ASGI send; the fan-out frames it once and writes the bytes (``can_write``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _LeanQueue()  # type: ignore[assignment]
        self.writable = _LeanEvent()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            # lets the fan-out write a ready-made frame straight to the transport
            scope["extensions"][RAW_EXTENSION] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "request", None) is not None:
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
            self.scope["headers"] = []

    def can_write(self) -> bool:
        """A data frame may be written directly now: open, not paused, no extension
        (permessage-deflate is off, see config_for) that would need this socket's state."""
        return (
            self.handshake_complete
            and self.writable.is_set()
            and not self.close_sent
            and not self.disconnected
            and not self.transport.is_closing()
            and not self.conn.extensions
        )


class _HeadHolder:
    """A response's view of the transport: the status line and headers are held and
    written together with the first bytes of the body, one send() instead of two."""

    __slots__ = ("transport", "holding", "held")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.holding = False  # the next write is the head: keep it
        self.held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self.holding:
            self.holding = False
            self.held = data
            return
        held = self.held
        if held is not None:
            self.held = None
            data = held + data
        self.transport.write(data)

    def flush(self) -> None:
        held = self.held
        if held is not None:
            self.held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, writing a response's head with its body."""

    transport: _HeadHolder  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        holder = self.transport
        if message["type"] != "http.response.start" or self.response_started:
            await super().send(message)
            holder.flush()  # a body that wrote nothing (HEAD): the head alone
            return
        holder.holding = True
        try:
            await super().send(message)
        finally:
            holder.holding = False
        if holder.held is not None:
            # A response's body normally follows at once (Starlette sends both from one
            # task without waiting); one that streams (SSE) gets its head this loop pass.
            asyncio.get_running_loop().call_soon(holder.flush)


class HubHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose responses go out in one write."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _OneWriteCycle
            cycle.transport = _HeadHolder(cycle.transport)  # type: ignore[assignment]


def tune_gc() -> None:
    """The collector settings of a serving process, once start-up is done."""
    # Everything imported and built at start-up (the app, plotly, drivers: millions
    # of objects) would otherwise be walked by every full collection, a pause of over
    # half a second with all sockets stalled. None of it is garbage, so move it out
    # of the collector's sight once.
    gc.freeze()
    # Fewer, not costlier, collections: at 2,000 requests/s the default (700, 10, 10)
    # ran ~60 young collections and a full one every 2 s (up to 12 ms with every
    # socket stalled), ~4 % of the process's CPU in all; with these, under 1 % and no
    # full collection in a 10 s run.
    gc.set_threshold(*GC_THRESHOLDS)


class HubServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, app: Any, freeze_gc: bool = False, warm_pool: bool = False
    ) -> None:
        super().__init__(config)
        install_log_redaction()
        self.hub_app = app
        self.freeze_gc = freeze_gc
        self.warm_pool = warm_pool

    async def _warm_pool(self) -> None:
        """Open POOL_WARM Postgres connections now: a first burst of requests would
        otherwise wait while the pool grows from one (a connect, a login and the first
        preparation of each statement per connection, ~100 ms of stalls at 2,000/s)."""
        db = getattr(getattr(self.hub_app, "state", None), "db", None)
        if db is None or not db.is_postgres:
            return
        try:
            await asyncio.gather(*(db.fetch_val("SELECT 1") for _ in range(POOL_WARM)))
        except Exception as exc:  # noqa: BLE001 - the pool grows on demand anyway
            log.warning("could not warm the database pool: %s", type(exc).__name__)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.warm_pool:
            await self._warm_pool()
        if self.freeze_gc:
            tune_gc()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        fanout = getattr(self.hub_app.state, "fanout", None)
        if fanout is not None:
            await fanout.close_all(1001)
        await super().shutdown(sockets=sockets)


EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def config_for(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    if settings.event_loop not in EVENT_LOOPS:
        raise ValueError(f"HUB_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}")
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        # uvloop's transports and loop take about a quarter less CPU per request
        "loop": settings.event_loop,
        "http": HubHttpProtocol,
        "ws": LeanWebSocketProtocol,
        "lifespan": "on",
        # protocol-level pings drop dead connections (browsers answer them by themselves)
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "timeout_graceful_shutdown": GRACEFUL_TIMEOUT_S,
        # frames over ws_max_frame get 1008 from the app; this bounds what is read at all
        "ws_max_size": max(settings.ws_max_frame * 4, 1024 * 1024),
        # Small JSON messages gain little from compression, and each compressing
        # socket keeps its own zlib state (tens of KB) and costs CPU per message.
        "ws_per_message_deflate": False,
    }
    values.update(overrides)
    return uvicorn.Config(app, **values)


def serve(app: Any, settings: Settings) -> None:
    HubServer(config_for(app, settings), app, freeze_gc=True, warm_pool=True).run()
