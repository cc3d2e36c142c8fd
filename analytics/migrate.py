"""Apply sql/clickhouse/NNNN_name.sql to the analytics store, once each.

Applied names are recorded in ``analytics_migrations`` inside ClickHouse, so
running it twice applies nothing the second time. ``{ttl_days}`` in a file is
replaced by HUB_ANALYTICS_TTL_DAYS; changing that setting later is applied by
the next migrate as ALTER ... MODIFY TTL.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from analytics.sink import Sink, sink_from_url
from hub.db import SQL_DIR
from hub.settings import Settings, obscure_url

log = logging.getLogger("hub.analytics")

CLICKHOUSE_DIR = SQL_DIR / "clickhouse"
MIGRATIONS_TABLE = "analytics_migrations"

# table -> the TTL expression's time column (see the schema files)
TTL_TABLES = {
    "events": "toDateTime(event_time)",
    "events_hourly": "hour",
    "events_daily": "day",
    "latency_hourly": "hour",
    "latency_daily": "day",
    "funnel_hourly": "hour",
    "funnel_daily": "day",
    "latency_split_daily": "day",
    "funnel_category_daily": "day",
    "funnel_channel_daily": "day",
    # a 30-day period's row is kept until its last day expires
    "latency_30d": "addDays(period, 30)",
    "funnel_30d": "addDays(period, 30)",
}


def migration_files(directory: Path = CLICKHOUSE_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def split_statements(script: str) -> list[str]:
    """Pure: a schema file as statements (``;`` at a line end ends one; comments dropped)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or (not stripped and not current):
            continue
        current.append(line)
        if stripped.endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def render(script: str, ttl_days: int) -> str:
    return script.replace("{ttl_days}", str(int(ttl_days)))


async def apply_migrations(
    sink: Sink, ttl_days: int, directory: Path = CLICKHOUSE_DIR
) -> list[str]:
    await sink.command(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}"
        " (name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))"
        " ENGINE = ReplacingMergeTree ORDER BY name"
    )
    done = {r[0] for r in (await sink.query(f"SELECT name FROM {MIGRATIONS_TABLE}")).rows}
    applied: list[str] = []
    for path in migration_files(directory):
        if path.name in done:
            continue
        for stmt in split_statements(render(path.read_text(), ttl_days)):
            await sink.command(stmt)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]", "", path.name)
        await sink.command(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ('{safe_name}')")
        applied.append(path.name)
        log.info("analytics migration applied: %s", path.name)
    await _sync_ttl(sink, ttl_days)
    return applied


def ttl_days_of(engine_full: str) -> int | None:
    """Pure: the TTL in days of a table's engine_full (ClickHouse normalises the spelling)."""
    match = re.search(r"toIntervalDay\((\d+)\)|INTERVAL (\d+) DAY", engine_full)
    if not match:
        return None
    return int(match.group(1) or match.group(2))


async def _sync_ttl(sink: Sink, ttl_days: int) -> None:
    rows = (
        await sink.query(
            "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
        )
    ).rows
    engines = dict(rows)
    for table, column in TTL_TABLES.items():
        engine = engines.get(table)
        if engine is None:
            continue
        if ttl_days_of(engine) == ttl_days:
            continue
        await sink.command(
            f"ALTER TABLE {table} MODIFY TTL {column} + INTERVAL {int(ttl_days)} DAY",
            settings={"materialize_ttl_after_modify": 0},
        )
        log.info("analytics TTL of %s set to %d days", table, ttl_days)


async def migrate_analytics(settings: Settings) -> list[str]:
    """`hub migrate`'s entry point: apply pending files to HUB_ANALYTICS_URL."""
    sink = sink_from_url(settings.analytics_url)
    try:
        log.info("migrating analytics store %s", obscure_url(settings.analytics_url))
        return await apply_migrations(sink, settings.analytics_ttl_days)
    finally:
        sink.close()
