"""The Database layer and migrations, on SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.db import Database, iso_to_ms, ms_to_iso, split_sql
from tests.conftest import Hub


def test_time_helpers() -> None:
    assert ms_to_iso(None) is None
    assert ms_to_iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso_to_ms("1970-01-01T00:00:01Z") == 1000
    assert iso_to_ms("1970-01-02") == 86_400_000
    assert iso_to_ms("1970-01-01T01:00:00 01:00") == 0  # "+" arrived as a space
    with pytest.raises(ValueError):
        iso_to_ms("soon")


def test_unsupported_url() -> None:
    with pytest.raises(ValueError) as err:
        Database("mysql://u:pw@h/db")
    assert "pw" not in str(err.value)


def test_split_sql_keeps_triggers_whole() -> None:
    script = (
        "-- comment\n\nCREATE TABLE t (a INT);\n"
        "CREATE TRIGGER x AFTER INSERT ON t BEGIN\n  INSERT INTO t VALUES (1);\n  SELECT 1;\nEND;\n"
        "SELECT 2"
    )
    parts = split_sql(script)
    assert len(parts) == 3 and parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
    assert parts[2] == "SELECT 2"


async def test_migrate_is_idempotent_and_recorded(hub: Hub) -> None:
    # the app migrated at start-up; again applies nothing
    assert await hub.db.migrate() == []
    names = [r["name"] for r in await hub.db.fetch_all("SELECT name FROM schema_migrations")]
    assert "0001_core.sql" in names and "0010_search.sql" in names


async def test_migrate_applies_new_files_in_order(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    await db.connect()
    try:
        d = tmp_path / "sql" / ("postgres" if db.is_postgres else "sqlite")
        d.mkdir(parents=True)
        assert await db.migrate(tmp_path / "sql") == []  # creates schema_migrations
        (d / "0002_b.sql").write_text("INSERT INTO mig_t (v) VALUES (2);")
        (d / "0001_a.sql").write_text("CREATE TABLE mig_t (v INTEGER);")
        await db.execute("DROP TABLE IF EXISTS mig_t")
        await db.execute("DELETE FROM schema_migrations WHERE name IN ('0001_a.sql', '0002_b.sql')")
        assert await db.migrate(tmp_path / "sql") == ["0001_a.sql", "0002_b.sql"]
        assert await db.migrate(tmp_path / "sql") == []
        (d / "0003_bad.sql").write_text(
            "INSERT INTO mig_t (v) VALUES (3); SELECT nope FROM nowhere;"
        )
        with pytest.raises(Exception):  # noqa: B017 - driver-specific error class
            await db.migrate(tmp_path / "sql")
        # the failed migration left nothing behind and is not recorded
        assert [r["v"] for r in await db.fetch_all("SELECT v FROM mig_t")] == [2]
        assert (
            await db.fetch_val("SELECT COUNT(*) FROM schema_migrations WHERE name = '0003_bad.sql'")
            == 0
        )
        await db.execute("DROP TABLE mig_t")
        await db.execute("DELETE FROM schema_migrations WHERE name IN ('0001_a.sql', '0002_b.sql')")
    finally:
        await db.disconnect()


async def test_transaction_rolls_back_and_nests(hub: Hub) -> None:
    db = hub.db
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute(
                "INSERT INTO api_keys (id, name, key_hash, scopes, created_at)"
                " VALUES ('k1', 'n', 'h', 'notify', 1)"
            )
            raise RuntimeError("undo")
    assert await db.fetch_val("SELECT COUNT(*) FROM api_keys") == 0
    async with db.transaction():
        await db.execute(
            "INSERT INTO api_keys (id, name, key_hash, scopes, created_at)"
            " VALUES ('k2', 'n', 'h', 'notify', 1)"
        )
        async with db.transaction():
            await db.execute("UPDATE api_keys SET name = 'inner' WHERE id = 'k2'")
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("UPDATE api_keys SET name = 'undone' WHERE id = 'k2'")
                raise RuntimeError("only the inner part")
    assert await db.fetch_val("SELECT name FROM api_keys WHERE id = 'k2'") == "inner"
    rows = [r async for r in db.iterate("SELECT id FROM api_keys")]
    assert rows == [{"id": "k2"}]
