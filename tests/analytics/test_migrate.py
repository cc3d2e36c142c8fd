"""`hub migrate` for the analytics store: versioned files, once each, TTL from settings."""

from __future__ import annotations

from pathlib import Path

from analytics.migrate import apply_migrations, migrate_analytics, migration_files, ttl_days_of
from analytics.sink import sink_from_url
from tests.conftest import make_settings


async def test_migrate_twice_and_ttl_follows_the_setting(
    analytics_url: str, tmp_path: Path
) -> None:
    settings = make_settings("sqlite:///unused.db", tmp_path, analytics_url=analytics_url)
    names = [p.name for p in migration_files()]
    assert await migrate_analytics(settings) == names
    assert await migrate_analytics(settings) == []
    sink = sink_from_url(analytics_url)
    try:
        tables = {
            r[0]: r[1]
            for r in (
                await sink.query(
                    "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
                )
            ).rows
        }
        assert {"events", "events_hourly", "events_hourly_mv", "analytics_migrations"} <= set(
            tables
        )
        assert "PARTITION BY toYYYYMM(event_time)" in tables["events"]
        assert ttl_days_of(tables["events"]) == 400
        assert await apply_migrations(sink, 30) == []
        engine = (
            await sink.query(
                "SELECT engine_full FROM system.tables"
                " WHERE database = currentDatabase() AND name = 'events'"
            )
        ).rows[0][0]
        assert ttl_days_of(engine) == 30
        applied = (await sink.query("SELECT count() FROM analytics_migrations")).rows[0][0]
        assert applied == len(names)
    finally:
        sink.close()


async def test_hub_migrate_command(analytics_url: str, tmp_path: Path, capsys, monkeypatch) -> None:
    from hub import cli

    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path}/hub.db")
    monkeypatch.setenv("HUB_ANALYTICS_URL", analytics_url)
    monkeypatch.setenv("HUB_SECRET_KEY", "x" * 40)
    monkeypatch.chdir(tmp_path)
    args = cli.build_parser().parse_args(["migrate"])
    settings = cli.load_settings()
    assert await cli.cmd_migrate(args, settings) == 0
    out = capsys.readouterr().out
    assert "applied analytics 0001_events.sql" in out
