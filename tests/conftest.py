"""Shared fixtures: real SQLite and Postgres (parametrised), Redis, the app and factories.

Services: Postgres at HUB_TEST_POSTGRES_URL (default postgres:postgres@127.0.0.1:5432),
Redis at HUB_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). A test that needs
one and cannot reach it is skipped on a developer machine and FAILS under CI=true.
Each test session gets its own Postgres database, dropped at the end, so parallel
runs on one machine do not see each other.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.auth import create_api_key, make_user_token
from hub.db import Database
from hub.settings import Settings

PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SECRET = "test-secret-key-0123456789abcdef0123456789"
# the browser tests' Chromium (never downloaded: a system package) and its flags
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def service_missing(what: str, why: str) -> None:
    """Fail under CI (a missing service must never pass silently), skip elsewhere."""
    message = f"{what} is not reachable ({why})"
    if IN_CI:
        pytest.fail(message + " and CI=true", pytrace=False)
    pytest.skip(message)


# ---------------------------------------------------------------- Postgres


async def _pg_admin(sql: str, url: str = PG_URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _db_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh Postgres database for this test session, migrated once."""
    name = f"hub_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        service_missing("Postgres", f"{type(exc).__name__}: {exc}")
    url = _db_url(PG_URL, name)

    async def migrate() -> None:
        db = Database(url)
        await db.connect()
        await db.migrate()
        await db.disconnect()

    run_sync(migrate())
    yield url
    run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_all(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations'"
            )
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The primary database URL; every test using it runs on SQLite and Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hub.db"
    url = request.getfixturevalue("pg_database")
    await truncate_all(url)
    return url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/hub.db"


# ---------------------------------------------------------------- Redis


async def redis_or_skip() -> str:
    """The test Redis URL, after checking it answers (fails under CI=true when not)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def redis_url() -> str:
    return await redis_or_skip()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the app


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "broadcast_url": "memory://",
        "analytics_url": "",
        "email_url": f"file://{tmp_path}/mail",
        "secret_key": SECRET,
        "run_workers": False,
        # unique per test so concurrent runs sharing a Redis never cross-talk
        "broadcast_prefix": f"hubtest{secrets.token_hex(4)}",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@dataclass
class Hub:
    """The running app with an HTTP client and factories for keys and users."""

    app: Any
    client: httpx.AsyncClient
    settings: Settings

    @property
    def db(self) -> Database:
        return self.app.state.db

    @property
    def state(self) -> Any:
        return self.app.state

    async def key(self, scopes: str = "notify", name: str = "test") -> dict[str, str]:
        """Headers with a new API key holding `scopes`."""
        _, key = await create_api_key(self.db, name, scopes.split(","))
        return {"Authorization": f"Bearer {key}"}

    def user(self, user_id: str, ttl: int = 3600) -> dict[str, str]:
        """Headers with a user token for `user_id`."""
        return {"Authorization": f"Bearer {self.token(user_id, ttl)}"}

    def token(self, user_id: str, ttl: int = 3600) -> str:
        return make_user_token(self.settings.secret_key, user_id, ttl=ttl)

    async def send(self, user_id: str | list[str], **fields: Any) -> dict[str, Any]:
        """Send a notification through the producer API; returns the JSON answer."""
        if not hasattr(self, "_notify"):
            self._notify = await self.key("notify", name="producer")
        body: dict[str, Any] = {"category": "general", "title": "Hello", "body": "World"}
        body.update(fields)
        if isinstance(user_id, list):
            body["user_ids"] = user_id
        else:
            body["user_id"] = user_id
        r = await self.client.post("/api/notifications", json=body, headers=self._notify)
        assert r.status_code in (200, 201), r.text
        return r.json()


async def start_hub(settings: Settings) -> AsyncIterator[Hub]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Hub(app=app, client=c, settings=settings)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async for h in start_hub(settings):
        yield h


@pytest.fixture
async def sqlite_hub(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    """The app on SQLite only, for tests where the backend does not matter."""
    async for h in start_hub(make_settings(sqlite_url, tmp_path)):
        yield h


# ---------------------------------------------------------------- analytics (chDB / ClickHouse)

CLICKHOUSE_URL = os.environ.get("HUB_TEST_CLICKHOUSE_URL", "")


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One chDB data directory per test process (chDB allows one per process)."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=["chdb", "clickhouse"] if CLICKHOUSE_URL else ["chdb"])
async def analytics_url(request: pytest.FixtureRequest, chdb_dir: Path) -> AsyncIterator[str]:
    """A fresh, empty analytics database.

    chDB always; a ClickHouse server too when HUB_TEST_CLICKHOUSE_URL is set.
    """
    from analytics.testing import drop_database, test_database_url

    base = f"chdb://{chdb_dir}" if request.param == "chdb" else CLICKHOUSE_URL
    url = await test_database_url(base)
    yield url
    await drop_database(url)


@pytest.fixture
async def analytics_hub(sqlite_url: str, tmp_path: Path, chdb_dir: Path) -> AsyncIterator[Hub]:
    """The app on SQLite with analytics on chDB (fresh database), ingester not running.

    Make data with hub.send(...) and the notification API, then
    ``await hub.state.analytics.ingester.drain()`` moves the outbox into chDB.
    """
    from analytics.testing import drop_database, test_database_url

    url = await test_database_url(f"chdb://{chdb_dir}")
    async for h in start_hub(make_settings(sqlite_url, tmp_path, analytics_url=url)):
        yield h
    await drop_database(url)
