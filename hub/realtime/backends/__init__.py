"""Fan-out backends, chosen by the scheme of HUB_BROADCAST_URL (one file per backend).

A backend carries frames between processes through ``broadcaster`` and keeps
the short per-user log that resume replays from:

- ``memory://``: one process; the log lives in this process.
- ``redis://`` / ``rediss://``: many processes; the seq, the log and the
  publish happen in one Lua script, so the seq order is the channel order.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

from broadcaster import Broadcast

from hub.settings import obscure_url

LOG_TTL_S = 7 * 24 * 3600  # an idle user's seq and log expire after a week


class Backend(Protocol):
    name: str
    broadcast: Broadcast

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def healthy(self) -> bool:
        """False when the subscription can no longer deliver (see Fanout._report)."""

    async def reconnect(self) -> None: ...

    async def publish_users(self, channel: str, items: list[tuple[str, str]]) -> None:
        """Log and publish ``(user id, message tail)`` pairs, each with the next seq."""

    async def publish_frame(self, channel: str, raw: str) -> None:
        """Publish a frame that is not logged (named channels)."""

    async def log(self, user_id: str) -> tuple[int | None, list[str]]:
        """The user's latest seq (None if none) and the logged messages ending at it."""

    async def write_stats(self, proc_id: str, stats: dict[str, Any]) -> None: ...

    async def read_stats(self) -> list[dict[str, Any]]: ...

    async def remove_stats(self, proc_id: str) -> None: ...


def backend_from_url(url: str, prefix: str, max_log: int) -> Backend:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from hub.realtime.backends.memory import MemoryBackend

        return MemoryBackend(max_log=max_log)
    if scheme in ("redis", "rediss"):
        from hub.realtime.backends.redis import RedisBackend

        return RedisBackend(url, prefix=prefix, max_log=max_log)
    raise ValueError(f"unsupported broadcast URL scheme: {obscure_url(url)}")
