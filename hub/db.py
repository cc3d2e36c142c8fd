"""The primary database (SQLite or Postgres through `databases`) and its migrations.

SQL is written with ``:name`` parameters and runs on both backends; where the
dialects differ, code branches on ``db.dialect``. All times in the primary
database are epoch milliseconds (UTC) in BIGINT columns, which keeps the SQL
identical on both backends; the API renders them as ISO 8601.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import databases

from hub.settings import obscure_url

log = logging.getLogger("hub.db")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

Row = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


def ms_to_iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _iso(ms)


@functools.lru_cache(maxsize=4096)
def _iso(ms: int) -> str:
    # cached: a notification's created_at is rendered for the API answer and again
    # for its live message, and a batch of sends shares one timestamp
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def iso_to_ms(value: str) -> int:
    """Parse an ISO 8601 date or datetime (naive means UTC) to epoch ms."""
    text = value.strip().replace("Z", "+00:00")
    if "T" in text:
        # an unencoded "+" in a query string arrives as a space
        text = text.replace(" ", "+")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """Named parameters for ``IN (...)``: (":p0, :p1", {"p0": v0, "p1": v1})."""
    params = {f"{prefix}{n}": v for n, v in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


async def _keep_session(conn: Any) -> None:
    """Pool release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip on every release, i.e. on every query outside a
    transaction. The hub changes no session state on pooled connections (the
    migration lock is released explicitly); an open transaction is still rolled
    back by asyncpg before this is called."""


class Database:
    """A thin layer over `databases.Database` that returns plain dicts."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Short-lived caches that belong to this database (verified API keys,
        # admin preference defaults): cleared where this process changes the
        # rows, and expired by time for changes made by other processes.
        self.memo: dict[str, Any] = {}
        if url.startswith("sqlite"):
            self.dialect = "sqlite"
            path = self.sqlite_path
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # timeout: wait for a concurrent writer instead of failing with "locked"
            self._db = databases.Database(url, timeout=30)
        elif url.startswith(("postgresql", "postgres")):
            self.dialect = "postgresql"
            url = "postgresql://" + url.split("://", 1)[1]
            self._db = databases.Database(url, min_size=1, max_size=20, reset=_keep_session)
        else:
            raise ValueError(f"unsupported database URL scheme: {obscure_url(url)}")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def sqlite_path(self) -> str:
        """The file of a sqlite:///path URL ("" for other URLs)."""
        if not self.url.startswith("sqlite") or ":///" not in self.url:
            return ""
        return self.url.split(":///", 1)[1].split("?", 1)[0]

    async def connect(self) -> None:
        await self._db.connect()
        if self.dialect == "sqlite":
            # WAL lets readers run while a writer commits; it persists in the file.
            await self._db.execute("PRAGMA journal_mode=WAL")
        log.info("database connected: %s", obscure_url(self.url))

    async def disconnect(self) -> None:
        await self._db.disconnect()

    async def fetch_all(self, sql: str, values: Mapping[str, Any] | None = None) -> list[Row]:
        rows = await self._db.fetch_all(sql, dict(values or {}))
        return [dict(r._mapping) for r in rows]

    async def fetch_one(self, sql: str, values: Mapping[str, Any] | None = None) -> Row | None:
        row = await self._db.fetch_one(sql, dict(values or {}))
        return dict(row._mapping) if row is not None else None

    async def fetch_val(self, sql: str, values: Mapping[str, Any] | None = None) -> Any:
        return await self._db.fetch_val(sql, dict(values or {}))

    async def execute(self, sql: str, values: Mapping[str, Any] | None = None) -> Any:
        return await self._db.execute(sql, dict(values or {}))

    async def execute_many(self, sql: str, values: Sequence[Mapping[str, Any]]) -> None:
        if values:
            await self._db.execute_many(sql, [dict(v) for v in values])

    def raw_connection(self) -> Any:
        """The driver connection (asyncpg/aiosqlite) of this task's transaction.

        For bulk paths only; call inside ``transaction()`` so it stays bound.
        """
        return self._db.connection().raw_connection

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Any]:
        """The driver connection (asyncpg/aiosqlite) held for a block, outside a transaction.

        For bulk reads (the analytics ingester): plain driver rows are several
        times faster than ``fetch_all`` on 100k-row batches.
        """
        async with self._db.connection() as conn:
            yield conn.raw_connection

    async def iterate(
        self, sql: str, values: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Row]:
        async for row in self._db.iterate(sql, dict(values or {})):
            yield dict(row._mapping)  # type: ignore[attr-defined]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A write transaction: every query in this task joins it until it ends.

        SQLite gets BEGIN IMMEDIATE so that two writers queue on the busy
        timeout instead of one failing when it upgrades its read lock.
        """
        if self.dialect == "postgresql":
            async with self._db.transaction():
                yield
            return
        async with self._db.connection() as conn:
            raw = conn.raw_connection
            if raw.in_transaction:
                # nested: join the outer transaction through a savepoint (the
                # outer BEGIN is raw, so `databases` would not know to nest)
                name = f"sp_{secrets.token_hex(4)}"
                await raw.execute(f"SAVEPOINT {name}")
                try:
                    yield
                except BaseException:
                    await raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    await raw.execute(f"RELEASE SAVEPOINT {name}")
                    raise
                await raw.execute(f"RELEASE SAVEPOINT {name}")
                return
            await raw.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await raw.execute("ROLLBACK")
                raise
            else:
                await raw.execute("COMMIT")

    async def executescript(self, script: str) -> None:
        async with self._db.connection() as conn:
            raw = conn.raw_connection
            if self.dialect == "sqlite":
                await raw.executescript(script)
            else:
                await raw.execute(script)

    async def migrate(self, sql_dir: Path | None = None) -> list[str]:
        """Apply pending migrations in name order; returns the ones applied.

        Safe to run twice and from several processes at once (Postgres takes an
        advisory lock, SQLite an immediate transaction).
        """
        directory = (sql_dir or SQL_DIR) / ("postgres" if self.is_postgres else "sqlite")
        files = sorted(p for p in directory.glob("*.sql"))
        applied: list[str] = []
        async with self._db.connection() as conn:
            raw = conn.raw_connection
            if self.dialect == "postgresql":
                await raw.execute("SELECT pg_advisory_lock(727272)")
                try:
                    await raw.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
                    )
                    done = {
                        r["name"] for r in await raw.fetch("SELECT name FROM schema_migrations")
                    }
                    for path in files:
                        if path.name in done:
                            continue
                        async with raw.transaction():
                            await raw.execute(path.read_text())
                            await raw.execute(
                                "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                                path.name,
                                now_ms(),
                            )
                        applied.append(path.name)
                finally:
                    await raw.execute("SELECT pg_advisory_unlock(727272)")
            else:
                await raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
                )
                for path in files:
                    await raw.execute("BEGIN IMMEDIATE")
                    try:
                        cur = await raw.execute(
                            "SELECT 1 FROM schema_migrations WHERE name = ?", (path.name,)
                        )
                        if await cur.fetchone():
                            await raw.execute("COMMIT")
                            continue
                        # executescript would COMMIT first; run statement by statement
                        for stmt in split_sql(path.read_text()):
                            await raw.execute(stmt)
                        await raw.execute(
                            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                            (path.name, now_ms()),
                        )
                        await raw.execute("COMMIT")
                    except BaseException:
                        await raw.execute("ROLLBACK")
                        raise
                    applied.append(path.name)
        for name in applied:
            log.info("migration applied: %s", name)
        return applied


def split_sql(script: str) -> list[str]:
    """Split a SQLite script into statements (trigger bodies kept whole)."""
    import sqlite3

    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.strip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
