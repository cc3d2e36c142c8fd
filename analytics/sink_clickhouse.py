"""A ClickHouse server over HTTP, through clickhouse-connect."""

from __future__ import annotations

from typing import Any

from analytics.sink import CONSOLE_SETTINGS, Sink, SinkConfig


def make_sink(url: str, config: SinkConfig) -> Sink:
    def make_client(readonly: bool) -> Any:
        import clickhouse_connect

        settings = {**CONSOLE_SETTINGS, "readonly": 1} if readonly else None
        return clickhouse_connect.get_client(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            database=config.database,
            secure=config.secure,
            settings=settings,
            connect_timeout=5,
            send_receive_timeout=60,
            # settings travel with each request; no server-side session to leak them
            autogenerate_session_id=False,
        )

    return Sink(url, make_client)
