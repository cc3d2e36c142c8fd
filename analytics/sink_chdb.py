"""chDB: the ClickHouse engine inside this process, through clickhouse-connect.

chDB allows one data directory per process (and one process per directory), so
every chDB call in the process shares one lock, and `hub sql` / the dashboards
reach the store through the serving process's HTTP API.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from analytics.sink import CONSOLE_SETTINGS, Sink, SinkConfig

# One engine per process: serialise every call into it.
CHDB_LOCK = threading.Lock()


def _quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def make_sink(url: str, config: SinkConfig) -> Sink:
    path = os.path.abspath(config.path)

    def make_client(readonly: bool) -> Any:
        import clickhouse_connect

        os.makedirs(path, exist_ok=True)
        if readonly:
            client = clickhouse_connect.get_client(
                dsn=f"chdb://{path}", database=config.database, settings=CONSOLE_SETTINGS
            )
            # Session-wide on this handle only: readonly=1 also forbids any later
            # SET or SETTINGS clause, so a console query cannot lift its limits.
            client.command("SET readonly = 1")
            return client
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        client.command(f"CREATE DATABASE IF NOT EXISTS {_quote_ident(config.database)}")
        client.database = config.database
        return client

    return Sink(url, make_client, lock=CHDB_LOCK)
