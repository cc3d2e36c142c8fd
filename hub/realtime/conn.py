"""One live client as the fan-out sees it: a WebSocket or an SSE stream.

Each connection has a bounded outgoing queue: a client that does not read
fills it and is evicted, without slowing anyone else. Sending does not need a
task per connection: ``run_eagerly`` runs the ASGI send until it would wait
(it almost never does: uvicorn only waits when the socket's buffer is full),
and only then hands the rest to a task (Python 3.12's eager tasks do the same).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from hub.realtime import wire

log = logging.getLogger("hub.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]

PING_TEXT = '{"type":"ping"}'
PING_FRAME = wire.ws_frame(PING_TEXT)  # every socket gets the same bytes


@dataclass
class Stats:
    received: int = 0  # frames from the backend
    sent: int = 0  # messages written to clients
    dropped_slow: int = 0  # clients evicted because their queue overflowed
    publish_errors: int = 0
    refills: int = 0  # connections that missed a frame and were refilled from the log
    resubscribes: int = 0  # times the backend subscription died and was made again
    gc_full: int = 0  # full (generation 2) garbage collections, and the longest one
    gc_max_pause_ms: float = 0.0


def run_eagerly(awaitable: Awaitable[Any]) -> Coroutine[Any, Any, None] | None:
    """Run a coroutine until it first suspends: None if it finished, else a
    coroutine that finishes it. Exceptions raised before the first suspension
    propagate."""
    if not isinstance(awaitable, Coroutine):
        return _await(awaitable)
    coro = awaitable
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return _resume(coro, yielded)


async def _await(awaitable: Awaitable[Any]) -> None:
    await awaitable


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
    try:
        while True:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                # what a Task does with a future its coroutine yields
                yielded._asyncio_future_blocking = False
                await asyncio.wait([yielded])
            yielded = coro.send(None)
    except StopIteration:
        return
    finally:
        coro.close()


class Conn:
    """What every live connection shares: identity, channels, resume state."""

    kind = "conn"
    # slots: with 10,000 idle sockets every byte per connection counts
    __slots__ = (
        "user_id",
        "is_admin",
        "limit",
        "stats",
        "channels",
        "last_seq",
        "pending",
        "closed",
        "evicted",
        "on_evict",
        "on_gap",
        "__weakref__",
    )

    def __init__(self, user_id: str | None, is_admin: bool, limit: int, stats: Stats) -> None:
        self.user_id = user_id
        self.is_admin = is_admin
        self.limit = limit
        self.stats = stats
        self.channels: set[str] = set()
        self.last_seq = 0
        # messages that arrive while the missed ones are being replayed
        self.pending: list[tuple[int | None, str]] | None = []
        self.closed = False
        self.evicted = False
        self.on_evict: Callable[[Conn], None] | None = None
        self.on_gap: Callable[[Conn], None] | None = None

    def push(self, seq: int | None, text: str, frame: bytes | None = None) -> None:
        """Send (or buffer) a message; ``frame`` is its ready-made WebSocket frame."""
        if self.closed:
            return
        if self.pending is not None:
            if len(self.pending) >= self.limit:
                self.evict()
                return
            self.pending.append((seq, text))
            return
        if seq is not None:
            if seq <= self.last_seq:
                return  # already sent (replay and live overlap)
            if self.last_seq and seq > self.last_seq + 1 and self.on_gap is not None:
                # a user's seqs are consecutive: a frame was lost (e.g. the pub/sub
                # connection dropped); buffer and refill from the log
                self.pending = [(seq, text)]
                self.on_gap(self)
                return
            self.last_seq = seq
        self.deliver(seq, text, frame)

    def finish_replay(self, replay: wire.Replay) -> None:
        """Send what was missed, then what arrived meanwhile, without duplicates."""
        pending, self.pending = self.pending or [], None
        if replay.resync:
            self.deliver(None, wire.dumps({"type": "resync"}))
            # the client refetches everything: whatever comes next is the new start
            self.last_seq = 0
        for text in replay.messages:
            self.push(wire.seq_of(text), text)
        for seq, text in pending:
            self.push(seq, text)

    def send_json(self, message: dict[str, Any]) -> None:
        """A reply to this client only (never buffered behind a replay)."""
        if not self.closed:
            self.deliver(None, wire.dumps(message))

    def evict(self) -> None:
        if self.closed:
            return
        self.evicted = True
        self.stats.dropped_slow += 1
        log.warning("evicting slow %s client of user %s", self.kind, self.user_id)
        if self.on_evict is not None:
            self.on_evict(self)
        self.abort()

    # implemented by each transport
    def deliver(self, seq: int | None, text: str, frame: bytes | None = None) -> None:
        raise NotImplementedError

    def heartbeat(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def close(self, code: int) -> None:
        raise NotImplementedError


class WsConn(Conn):
    kind = "websocket"
    __slots__ = ("send", "task", "queue", "writer", "raw")

    def __init__(
        self, send: Send, task: asyncio.Task[Any] | None, raw: Any = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.send = send
        # the server's protocol when it offers a direct write (server.py), else None
        self.raw = raw
        self.task = task  # the handler's task, cancelled on eviction
        # made only while a send is stuck: most sockets never need one
        self.queue: deque[str] | None = None
        self.writer: asyncio.Task[None] | None = None

    def deliver(self, seq: int | None, text: str, frame: bytes | None = None) -> None:
        raw = self.raw
        if frame is not None and raw is not None and self.writer is None and raw.can_write():
            # the same bytes go to every socket: framed once per message, not per socket
            raw.transport.write(frame)
            self.stats.sent += 1
            return
        if self.writer is not None:
            if self.queue is None:
                self.queue = deque()
            if len(self.queue) >= self.limit:
                self.evict()
                return
            self.queue.append(text)
            return
        try:
            rest = run_eagerly(self.send({"type": "websocket.send", "text": text}))
        except Exception:  # noqa: BLE001 - the client is gone; its handler cleans up
            self.closed = True
            return
        self.stats.sent += 1
        if rest is not None:
            self.writer = asyncio.ensure_future(self._drain(rest))

    async def _drain(self, first: Coroutine[Any, Any, None]) -> None:
        try:
            await first
            while self.queue and not self.closed:
                text = self.queue.popleft()
                await self.send({"type": "websocket.send", "text": text})
                self.stats.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the client is gone
            self.closed = True
        finally:
            self.writer = None
            self.queue = None

    def heartbeat(self) -> None:
        self.push(None, PING_TEXT, PING_FRAME)

    def abort(self) -> None:
        self.closed = True
        self.queue = None
        if self.writer is not None:
            self.writer.cancel()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    def close(self, code: int) -> None:
        """Close with ``code`` now; a client too slow to take the close frame is cut off."""
        if self.closed:
            return
        self.closed = True
        if self.writer is not None:
            self.abort()
            return
        try:
            rest = run_eagerly(self.send({"type": "websocket.close", "code": code}))
        except Exception:  # noqa: BLE001 - already gone
            return
        if rest is not None:
            rest.close()
            self.abort()


class SseConn(Conn):
    kind = "sse"
    __slots__ = ("queue", "wakeup")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.queue: deque[str] = deque()
        self.wakeup = asyncio.Event()

    def deliver(self, seq: int | None, text: str, frame: bytes | None = None) -> None:
        if len(self.queue) >= self.limit:
            self.evict()
            return
        self.queue.append(
            f"id: {seq}\ndata: {text}\n\n" if seq is not None else f"data: {text}\n\n"
        )
        self.wakeup.set()

    def heartbeat(self) -> None:
        if not self.closed and not self.queue:
            # an event, not a comment: EventSource only shows events to scripts,
            # and the browser client's watchdog needs to see the server is alive
            self.queue.append('data: {"type":"ping"}\n\n')
            self.wakeup.set()

    def abort(self) -> None:
        self.closed = True
        self.queue.clear()
        self.wakeup.set()

    def close(self, code: int) -> None:
        self.closed = True
        self.wakeup.set()

    async def next_chunk(self) -> str | None:
        """The next chunk to write, or None when the stream should end."""
        while not self.queue:
            if self.closed:
                return None
            self.wakeup.clear()
            await self.wakeup.wait()
        if self.evicted:
            return None
        self.stats.sent += 1
        return self.queue.popleft()
