"""memory:// — one process: broadcaster's memory backend plus an in-process log."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Any

from broadcaster import Broadcast

from hub.realtime import wire

# Bound the log's memory: the least recently published-to users are forgotten
# first (their clients get a resync if they come back with an old last_id).
MAX_USERS = 100_000


def seq_base() -> int:
    """Where a fresh sequence starts: later than any seq handed out before a restart."""
    return int(time.time() * 1000) * 1000


class MemoryBackend:
    name = "memory"

    def __init__(self, max_log: int) -> None:
        self.broadcast = Broadcast("memory://")
        self.max_log = max_log
        self._logs: OrderedDict[str, tuple[int, deque[str]]] = OrderedDict()
        self._stats: dict[str, dict[str, Any]] = {}

    async def connect(self) -> None:
        await self.broadcast.connect()

    async def disconnect(self) -> None:
        await self.broadcast.disconnect()

    def healthy(self) -> bool:
        return True

    async def reconnect(self) -> None:
        return None

    async def publish_users(self, channel: str, items: list[tuple[str, str]]) -> None:
        frames = []
        for user_id, tail in items:
            current, log = self._logs.pop(user_id, (seq_base(), deque(maxlen=self.max_log)))
            current += 1
            text = wire.with_seq(current, tail)
            log.append(text)
            self._logs[user_id] = (current, log)
            frames.append(wire.frame(wire.user_target(user_id), text))
        while len(self._logs) > MAX_USERS:
            self._logs.popitem(last=False)
        if frames:
            # seqs are assigned above without suspending, and the memory queue is
            # unbounded so this never suspends: seq order is publish order
            await self.broadcast.publish(channel, wire.multi_frame(frames))

    async def publish_frame(self, channel: str, raw: str) -> None:
        await self.broadcast.publish(channel, raw)

    async def log(self, user_id: str) -> tuple[int | None, list[str]]:
        entry = self._logs.get(user_id)
        if entry is None:
            return None, []
        return entry[0], list(entry[1])

    async def write_stats(self, proc_id: str, stats: dict[str, Any]) -> None:
        self._stats[proc_id] = stats

    async def read_stats(self) -> list[dict[str, Any]]:
        return list(self._stats.values())

    async def remove_stats(self, proc_id: str) -> None:
        self._stats.pop(proc_id, None)
