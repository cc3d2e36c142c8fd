"""The analytics store behind one small interface, chosen by URL scheme.

``chdb:///path`` (embedded, in-process ClickHouse) and
``clickhouse://user:pass@host:8123/db`` (a server) both go through
clickhouse-connect; the two backend files only differ in how a client is made.

clickhouse-connect is synchronous and chDB has no async client, so every call
runs in a worker thread. chDB allows one engine per process, so calls to it are
serialised by one process-wide lock; a server gets no such lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hub.settings import obscure_url

# Limits for ad-hoc SQL from the admin console; readonly=1 also forbids
# changing any of them from inside the query.
CONSOLE_ROW_CAP = 1000
CONSOLE_SETTINGS: dict[str, Any] = {
    "max_execution_time": 10,
    "max_result_rows": CONSOLE_ROW_CAP + 1,
    "result_overflow_mode": "break",
    "max_memory_usage": 2_000_000_000,
}


class SinkError(Exception):
    """The store refused or could not be reached; ``message`` is safe to show."""


@dataclass
class Result:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class SinkConfig:
    scheme: str  # "chdb" or "clickhouse"
    path: str = ""  # chDB data directory
    host: str = ""
    port: int = 8123
    username: str = "default"
    password: str = field(default="", repr=False)
    database: str = "default"
    secure: bool = False


def parse_url(url: str) -> SinkConfig:
    """Pure: the analytics URL as a SinkConfig (ValueError naming the problem)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "chdb":
        path = parts.path if not parts.netloc else parts.netloc + parts.path
        if not path:
            raise ValueError("chdb URL needs a directory: chdb:///var/analytics")
        return SinkConfig("chdb", path=path, database=query.get("database", "default"))
    if parts.scheme in ("clickhouse", "clickhouses", "http", "https"):
        secure = parts.scheme in ("clickhouses", "https") or query.get("secure") in ("1", "true")
        return SinkConfig(
            "clickhouse",
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=parts.path.strip("/") or query.get("database", "default"),
            secure=secure,
        )
    raise ValueError(f"unsupported analytics URL scheme: {obscure_url(url)}")


class Sink:
    """One analytics store: a writer client and a read-only client for the console."""

    def __init__(
        self,
        url: str,
        make_client: Callable[[bool], Any],
        lock: threading.Lock | None = None,
    ) -> None:
        self.url = url
        self.config = parse_url(url)
        self._make_client = make_client
        self._lock = lock or threading.Lock()
        self._client: Any = None
        self._console: Any = None

    # The public methods are async; the *_sync ones run in a thread under the lock.

    async def run(self, fn: Callable[[], Any]) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn()

        return await asyncio.to_thread(locked)

    def client(self, readonly: bool = False) -> Any:
        """The writer client, or (readonly) the console's read-only one; made on first use."""
        attr = "_console" if readonly else "_client"
        if getattr(self, attr) is None:
            try:
                setattr(self, attr, self._make_client(readonly))
            except Exception as exc:
                raise SinkError(error_message(exc)) from exc
        return getattr(self, attr)

    async def command(self, sql: str, settings: dict[str, Any] | None = None) -> Any:
        return await self.run(
            lambda: self._wrap(lambda: self.client().command(sql, settings=settings))
        )

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> Result:
        return await self._query(sql, params or {}, readonly=False)

    async def console_query(self, sql: str) -> Result:
        return await self._query(sql, None, readonly=True)

    async def _query(self, sql: str, params: dict[str, Any] | None, readonly: bool) -> Result:
        def go() -> Result:
            client = self.client(readonly)
            r = client.query(sql) if params is None else client.query(sql, parameters=params)
            return Result(list(r.column_names), [t.name for t in r.column_types], r.result_rows)

        return await self.run(lambda: self._wrap(go))

    async def insert_arrow(
        self, table: str, data: Any, settings: dict[str, Any] | None = None
    ) -> None:
        await self.run(
            lambda: self._wrap(lambda: self.client().insert_arrow(table, data, settings=settings))
        )

    def _wrap(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SinkError:
            raise
        except Exception as exc:
            raise SinkError(error_message(exc)) from exc

    def close(self) -> None:
        for c in (self._client, self._console):
            if c is not None:
                try:
                    c.close()
                except Exception:  # noqa: BLE001, S110 - closing a dead client is not an error
                    pass
        self._client = self._console = None


def error_message(exc: BaseException) -> str:
    """The first line of a ClickHouse/driver error, without the driver's traceback noise."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first[:1000]


def sink_from_url(url: str) -> Sink:
    config = parse_url(url)
    if config.scheme == "chdb":
        from analytics.sink_chdb import make_sink

        return make_sink(url, config)
    from analytics.sink_clickhouse import make_sink as make_server_sink

    return make_server_sink(url, config)
