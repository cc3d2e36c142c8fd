"""Throw-away analytics databases for tests (one chDB directory, many databases)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

from analytics.sink import parse_url, sink_from_url


def with_database(url: str, database: str) -> str:
    """Pure: the same store URL pointing at another database."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        return f"chdb://{parts.netloc}{parts.path}?database={database}"
    return urlunsplit(parts._replace(path=f"/{database}"))


async def test_database_url(base: str) -> str:
    """Create a fresh database on the store at `base`; its URL."""
    name = f"hubtest_{secrets.token_hex(5)}"
    sink = sink_from_url(base)
    try:
        await sink.command(f"CREATE DATABASE IF NOT EXISTS {name}")
    finally:
        sink.close()
    return with_database(base, name)


async def drop_database(url: str) -> None:
    name = parse_url(url).database
    sink = sink_from_url(with_database(url, "default"))
    try:
        await sink.command(f"DROP DATABASE IF EXISTS {name} SYNC")
    finally:
        sink.close()
