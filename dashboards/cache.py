"""A short-lived, in-process cache of dashboard answers, keyed by the request's
filters and the ingest watermark.

Analytics data only changes when the ingester confirms a batch, and it bumps
``analytics_ingest.ingested`` in the primary database when it does (whichever
process runs it). So an answer stays right for as long as that row is
unchanged: reloading an unchanged dashboard costs one primary-key read, and a
live dashboard re-queries the store only after new events were ingested.
Identical requests in flight at the same time share one computation (several
analysts in live mode all refresh on the same ``admin:live`` message).

The TTL is a safety net for changes the watermark cannot see (TTL expiry, rows
written to a ClickHouse server by something other than the ingester); each
process has its own cache, and nothing in it is needed by another process.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from hub.db import Database

Watermark = tuple[str, int, int] | None


async def watermark(db: Database) -> Watermark:
    """What identifies the store's contents: (epoch, events ingested, last batch time)."""
    row = await db.fetch_one(
        "SELECT epoch, ingested, last_batch_at FROM analytics_ingest WHERE id = 1"
    )
    if row is None:
        return None
    return (str(row["epoch"]), int(row["ingested"]), int(row["last_batch_at"] or 0))


class ResultCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 128,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self.clock() - stored_at >= self.ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl <= 0:
            return
        self._entries[key] = (self.clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def get_or_compute(
        self, key: Hashable, compute: Callable[[], Awaitable[Any]]
    ) -> tuple[Any, bool]:
        """(value, True if it came from the cache). Failures are not cached."""
        value = self.get(key)
        if value is not None:
            return value, True
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                value = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
                # the request computing it was cancelled: compute it here instead
            else:
                return value, True
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(value)
        self.put(key, value)
        return value, False
