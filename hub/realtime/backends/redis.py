"""redis:// — many processes act as one: broadcaster over Redis plus a per-user log in Redis.

Two broadcaster 0.3.1 traps are handled here:
- its RedisBackend sets "ready" before awaiting SUBSCRIBE; with redis-py 8.x
  the listener then finds no subscription and ends, so nothing is delivered.
  ``_OrderedRedisBackend`` subscribes first and only then lets the listener run
  (the project also pins redis<8).
- concurrent ``subscribe()`` calls for one channel overwrite each other's
  queues; the fan-out subscribes exactly once per process, at start-up.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import redis.asyncio as aioredis
from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend as _BroadcasterRedis

from hub.realtime import wire
from hub.realtime.backends import LOG_TTL_S
from hub.realtime.backends.memory import seq_base

# Seq, log and publish in one atomic step: the order of seq is the order in
# which every subscriber receives the frames, which is what makes resume exact.
# One call does a whole batch (KEYS: seq and log key of each message; ARGV: channel,
# TTL, seq base, log length, then target and tail of each message) and publishes it
# as one multi frame (wire.parse_frames): one command and one pub/sub message per
# batch instead of one per message.
PUBLISH_LUA = """
local ttl, base, keep = ARGV[2], ARGV[3], -tonumber(ARGV[4])
local parts = {}
for i = 1, #KEYS / 2 do
  local seq_key, log_key = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', seq_key) == 0 then
    redis.call('SET', seq_key, base)
  end
  local seq = redis.call('INCR', seq_key)
  redis.call('EXPIRE', seq_key, ttl)
  local text = '{"seq":' .. string.format('%d', seq) .. ',' .. ARGV[4 + 2 * i]
  redis.call('RPUSH', log_key, text)
  redis.call('LTRIM', log_key, keep, -1)
  redis.call('EXPIRE', log_key, ttl)
  parts[i] = ARGV[3 + 2 * i] .. '\\n' .. text
end
redis.call('PUBLISH', ARGV[1], 'm\\n' .. table.concat(parts, '\\n'))
return #parts
"""

# Messages per script call: a call blocks Redis while it runs, so a send to
# 10,000 users goes as several calls (in one pipeline).
PUBLISH_CHUNK = 500

STATS_MAX_AGE_S = 15.0  # a process that has not reported for this long is gone


class _OrderedRedisBackend(_BroadcasterRedis):
    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, prefix: str, max_log: int) -> None:
        self.url = url
        self.prefix = prefix
        self.max_log = max_log
        self.broadcast = Broadcast(backend=_OrderedRedisBackend(url))
        # bounded: a burst of 10,000 connects would otherwise open a Redis
        # connection (with its buffers) per concurrent log read
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=20)
        self.client: Any = aioredis.Redis(connection_pool=pool)
        self._publish = self.client.register_script(PUBLISH_LUA)
        self._stats_key = f"{prefix}:procs"

    def _keys(self, user_id: str) -> list[str]:
        return [f"{self.prefix}:seq:{user_id}", f"{self.prefix}:log:{user_id}"]

    async def connect(self) -> None:
        await self.client.ping()
        # loaded now, so the first publish is not an EVALSHA, NOSCRIPT, SCRIPT LOAD dance
        await self.client.script_load(PUBLISH_LUA)
        await self.broadcast.connect()

    async def disconnect(self) -> None:
        try:
            await self.broadcast.disconnect()
        finally:
            await self.client.aclose()

    def healthy(self) -> bool:
        """False once the pub/sub listener has died (redis-py gave up reconnecting)."""
        listener = getattr(self.broadcast._backend, "_listener", None)
        return listener is not None and not listener.done()

    async def reconnect(self) -> None:
        """A fresh pub/sub connection (the caller subscribes again)."""
        old = self.broadcast
        self.broadcast = Broadcast(backend=_OrderedRedisBackend(self.url))
        with contextlib.suppress(Exception):
            await old.disconnect()
        await self.broadcast.connect()

    async def publish_users(self, channel: str, items: list[tuple[str, str]]) -> None:
        if not items:
            return
        base = seq_base()
        calls = []
        for start in range(0, len(items), PUBLISH_CHUNK):
            keys: list[str] = []
            args: list[str | int] = [channel, LOG_TTL_S, base, self.max_log]
            for user_id, tail in items[start : start + PUBLISH_CHUNK]:
                keys += self._keys(user_id)
                args += (wire.user_target(user_id), tail)
            calls.append((keys, args))
        if len(calls) == 1:
            keys, args = calls[0]
            await self._publish(keys=keys, args=args)
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await self._publish(keys=keys, args=args, client=pipe)
            await pipe.execute()

    async def publish_frame(self, channel: str, raw: str) -> None:
        await self.broadcast.publish(channel, raw)

    async def log(self, user_id: str) -> tuple[int | None, list[str]]:
        seq_key, log_key = self._keys(user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            pipe.lrange(log_key, 0, -1)
            current, entries = await pipe.execute()
        if current is None:
            return None, []
        return int(current), [e.decode() for e in entries]

    async def write_stats(self, proc_id: str, stats: dict[str, Any]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self._stats_key, proc_id, json.dumps({**stats, "at": time.time()}))
            pipe.expire(self._stats_key, int(STATS_MAX_AGE_S * 4))
            await pipe.execute()

    async def read_stats(self) -> list[dict[str, Any]]:
        raw = await self.client.hgetall(self._stats_key)
        now = time.time()
        out = []
        for value in raw.values():
            item = json.loads(value)
            if now - item.pop("at", 0) <= STATS_MAX_AGE_S:
                out.append(item)
        return out

    async def remove_stats(self, proc_id: str) -> None:
        await self.client.hdel(self._stats_key, proc_id)
