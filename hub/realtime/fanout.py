"""The fan-out: one backend subscription per process, local dispatch to sockets.

Subscribing once per connection collapses at 10,000 connections (see
DESIGN.md, "Performance facts"), so each process subscribes once to
``<prefix>:live`` and keeps ``user id -> connections`` and
``channel -> connections`` in memory. A frame is parsed once and its message
text is written unchanged to every socket that should get it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import socket
import time
from typing import Any

from hub.realtime import wire
from hub.realtime.backends import Backend, backend_from_url
from hub.realtime.conn import Conn, Stats
from hub.settings import Settings

log = logging.getLogger("hub.realtime")

FREEZE_AFTER = 500  # new connections before the next gc.freeze()
FREEZE_QUIET_S = 1.0  # ... or this long after the first of fewer
REPORT_EVERY_S = 2.0  # how often this process's counters go to the backend
READY_TIMEOUT_S = 10.0


class Fanout:
    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend or backend_from_url(
            settings.broadcast_url, settings.broadcast_prefix, settings.resume_max_gap
        )
        self.channel = f"{settings.broadcast_prefix}:live"
        self.users: dict[str, set[Conn]] = {}
        self.named: dict[str, set[Conn]] = {}
        self.conns: set[Conn] = set()
        self.stats = Stats()
        self.proc_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.started_at = time.time()
        self.closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._probe = f"__probe__:{self.proc_id}"
        self._probe_seen = asyncio.Event()
        self._new_conns = 0
        self._freeze: asyncio.TimerHandle | None = None
        self._refills: set[asyncio.Future[None]] = set()
        self._gc_started = 0.0

    # ------------------------------------------------------------ life cycle

    def _gc_watch(self, phase: str, info: dict[str, Any]) -> None:
        # full collections are what stalls every socket of the process at once
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._gc_started) * 1000
            self.stats.gc_full += 1
            self.stats.gc_max_pause_ms = max(self.stats.gc_max_pause_ms, round(pause, 1))

    async def start(self) -> None:
        gc.callbacks.append(self._gc_watch)
        await self.backend.connect()
        await self._subscribe()
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        self._tasks.append(asyncio.create_task(self._report()))

    async def _wait(self, listener: asyncio.Task[None], event: asyncio.Event) -> None:
        waiter = asyncio.create_task(event.wait())
        done, _ = await asyncio.wait(
            {listener, waiter}, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if listener in done:
            listener.result()
        if waiter not in done:
            raise RuntimeError(
                f"fan-out backend {self.backend.name} delivered nothing within"
                f" {READY_TIMEOUT_S:.0f} s (broadcaster 0.3.1 with redis-py 8.x does this)"
            )

    async def stop(self) -> None:
        if self._gc_watch in gc.callbacks:
            gc.callbacks.remove(self._gc_watch)
        await self.close_all(1001)
        for refill in tuple(self._refills):
            refill.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._freeze is not None:
            self._freeze.cancel()
        with contextlib.suppress(Exception):
            await self.backend.remove_stats(self.proc_id)
        await self.backend.disconnect()

    async def close_all(self, code: int = 1001, wait: float = 2.0) -> None:
        """Close every connection (1001 on shutdown) and wait briefly for them to go."""
        self.closing = True
        for conn in tuple(self.conns):
            conn.close(code)
        deadline = time.monotonic() + wait
        while self.conns and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll
            await asyncio.sleep(0.02)

    async def _resubscribe(self) -> None:
        """The subscription died (Redis gone longer than redis-py retries): start a new
        one. Sockets stay connected; a user's next message reveals the gap in its seq
        and the socket is refilled from the log."""
        log.error("fan-out subscription lost (%s); subscribing again", self.backend.name)
        old = self._tasks[0]
        old.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await old
        await self.backend.reconnect()
        await self._subscribe()
        self.stats.resubscribes += 1

    async def _subscribe(self) -> None:
        """Start the listener as ``self._tasks[0]`` and wait until it delivers.

        Round trip through the backend: the subscription is live before any
        client connects (a Redis SUBSCRIBE is only sent, not confirmed, when
        subscribe() returns), and a backend that delivers nothing fails here.
        """
        subscribed = asyncio.Event()
        listener = asyncio.create_task(self._listen(subscribed))
        if self._tasks:
            self._tasks[0] = listener
        else:
            self._tasks.append(listener)
        await self._wait(listener, subscribed)
        self._probe_seen.clear()
        await self.backend.publish_frame(self.channel, self._frame(self._probe, {"type": "probe"}))
        await self._wait(listener, self._probe_seen)

    async def _listen(self, subscribed: asyncio.Event) -> None:
        async with self.backend.broadcast.subscribe(self.channel) as subscriber:
            subscribed.set()
            while True:
                event = await subscriber.get()
                try:
                    self.dispatch(event.message)
                except Exception:  # noqa: BLE001 - one bad frame must not stop the fan-out
                    log.exception("dispatch failed")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ws_ping_interval)
            for conn in tuple(self.conns):
                conn.heartbeat()

    async def _report(self) -> None:
        while True:
            if not self.backend.healthy():
                try:
                    await self._resubscribe()
                except Exception as exc:  # noqa: BLE001 - retried on the next round
                    log.error("fan-out resubscribe failed: %s", type(exc).__name__)
            try:
                await self.backend.write_stats(self.proc_id, self.local_stats())
            except Exception as exc:  # noqa: BLE001 - status is best effort
                log.warning("could not report fan-out stats: %s", type(exc).__name__)
            await asyncio.sleep(REPORT_EVERY_S)

    # ------------------------------------------------------------ publishing

    def _frame(self, channel: str, message: dict[str, Any]) -> str:
        return wire.frame(wire.channel_target(channel), wire.dumps(message))

    async def publish_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Send each message to its user's connections, in every process.

        Called after commit: a failure is logged and counted, never raised into
        a request whose change is already durable.
        """
        items = []
        for user_id, message in messages:
            try:
                items.append((str(user_id), wire.message_tail(message)))
            except (TypeError, ValueError):
                log.error("dropping a live message without a type: %r", type(message))
        if not items:
            return
        try:
            await self.backend.publish_users(self.channel, items)
        except Exception as exc:  # noqa: BLE001
            self.stats.publish_errors += 1
            log.error("live publish failed (%s): %s", self.backend.name, type(exc).__name__)

    async def publish_channel(self, channel: str, message: dict[str, Any]) -> None:
        """Send to a named channel: ``broadcast``, ``admin:live`` or ``user:<id>``."""
        why = wire.check_publish_channel(channel)
        if why is not None:
            raise ValueError(why)
        if channel.startswith(wire.USER_PREFIX):
            await self.publish_many([(channel[len(wire.USER_PREFIX) :], message)])
            return
        try:
            await self.backend.publish_frame(self.channel, self._frame(channel, message))
        except Exception as exc:  # noqa: BLE001
            self.stats.publish_errors += 1
            log.error("channel publish failed (%s): %s", self.backend.name, type(exc).__name__)

    # ------------------------------------------------------------ dispatch

    def dispatch(self, raw: str) -> None:
        users = self.users
        for kind, name, text in wire.parse_frames(raw):
            self.stats.received += 1
            if kind == "u":
                conns = users.get(name)
                if conns:
                    seq = wire.seq_of(text)
                    frame = wire.ws_frame(text)
                    for conn in tuple(conns):
                        conn.push(seq, text, frame)
                continue
            if name == self._probe:
                self._probe_seen.set()
                continue
            conns = self.named.get(name)
            if conns:
                frame = wire.ws_frame(text)
                for conn in tuple(conns):
                    conn.push(None, text, frame)

    # ------------------------------------------------------------ connections

    def register(self, conn: Conn, channels: set[str]) -> None:
        self.conns.add(conn)
        conn.on_evict = self.unregister
        conn.on_gap = self._refill_soon
        for channel in channels:
            self.join(conn, channel)
        self._new_conns += 1
        # Full GC passes over 10,000 live sockets take up to a second; freezing what
        # connections allocated keeps them out of later passes. Every FREEZE_AFTER new
        # connections during a burst (a freeze costs nothing), and once it is over.
        if self._new_conns >= FREEZE_AFTER:
            self._do_freeze()
        elif self._freeze is None:
            self._freeze = asyncio.get_running_loop().call_later(FREEZE_QUIET_S, self._do_freeze)

    def _do_freeze(self) -> None:
        if self._freeze is not None:
            self._freeze.cancel()
            self._freeze = None
        if self._new_conns:
            self._new_conns = 0
            gc.freeze()

    def unregister(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for channel in tuple(conn.channels):
            self.leave(conn, channel)

    def join(self, conn: Conn, channel: str) -> None:
        conn.channels.add(channel)
        if conn.user_id is not None and channel == wire.own_channel(conn.user_id):
            self.users.setdefault(conn.user_id, set()).add(conn)
        else:
            self.named.setdefault(channel, set()).add(conn)

    def leave(self, conn: Conn, channel: str) -> None:
        conn.channels.discard(channel)
        if conn.user_id is not None and channel == wire.own_channel(conn.user_id):
            table, key = self.users, conn.user_id
        else:
            table, key = self.named, channel
        members = table.get(key)
        if members is not None:
            members.discard(conn)
            if not members:
                del table[key]

    async def attach(self, conn: Conn, channels: set[str], last_id: int | None) -> int:
        """Register ``conn``, replay what it missed after ``last_id``, then go live.

        Registering first and replaying second leaves no gap: anything published
        meanwhile is buffered on the connection and sent after the replay unless
        the replay already held it. Returns the ``last_id`` for the "ready" message:
        the newest seq sent or logged (0 if none).
        """
        self.register(conn, channels)
        current: int | None = None
        replay = wire.Replay([])
        if conn.user_id is not None:
            try:
                current, entries = await self.backend.log(conn.user_id)
                replay = wire.plan_replay(last_id, current, entries, self.settings.resume_max_gap)
            except Exception as exc:  # noqa: BLE001 - without the log, the client refetches
                log.warning("resume log unavailable: %s", type(exc).__name__)
                replay = wire.Replay([], resync=last_id is not None)
        conn.finish_replay(replay)
        return max(conn.last_seq, current or 0)

    def _refill_soon(self, conn: Conn) -> None:
        task = asyncio.ensure_future(self._refill(conn))
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def _refill(self, conn: Conn) -> None:
        """Send a connection what it missed between its last seq and a newer frame."""
        assert conn.user_id is not None
        self.stats.refills += 1
        try:
            current, entries = await self.backend.log(conn.user_id)
            replay = wire.plan_replay(conn.last_seq, current, entries, self.settings.resume_max_gap)
        except Exception as exc:  # noqa: BLE001
            log.warning("refill log unavailable: %s", type(exc).__name__)
            replay = wire.Replay([], resync=True)
        conn.finish_replay(replay)

    # ------------------------------------------------------------ status

    def local_stats(self) -> dict[str, Any]:
        websockets = sum(1 for c in self.conns if c.kind == "websocket")
        return {
            "id": self.proc_id,
            "connections": websockets,
            "sse": len(self.conns) - websockets,
            "users": len(self.users),
            "messages_received": self.stats.received,
            "messages_sent": self.stats.sent,
            "dropped_slow": self.stats.dropped_slow,
            "publish_errors": self.stats.publish_errors,
            "refills": self.stats.refills,
            "resubscribes": self.stats.resubscribes,
            "gc_full": self.stats.gc_full,
            "gc_max_pause_ms": self.stats.gc_max_pause_ms,
            "uptime_s": round(time.time() - self.started_at, 1),
        }

    async def status(self) -> dict[str, Any]:
        mine = self.local_stats()
        try:
            await self.backend.write_stats(self.proc_id, mine)
            procs = await self.backend.read_stats()
        except Exception as exc:  # noqa: BLE001
            log.warning("cluster status unavailable: %s", type(exc).__name__)
            procs = [mine]
        keys = ("connections", "sse", "users", "messages_sent", "dropped_slow")
        cluster: dict[str, Any] = {k: sum(p.get(k, 0) for p in procs) for k in keys}
        cluster["processes"] = len(procs)
        return {
            "backend": self.backend.name,
            "process": mine,
            "cluster": cluster,
            "processes": sorted(procs, key=lambda p: p["id"]),
        }
