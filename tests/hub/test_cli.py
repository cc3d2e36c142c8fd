"""The `hub` command, run in-process against a temporary SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.auth import check_api_key, check_user_token
from hub.cli import main
from hub.db import Database
from tests.conftest import SECRET, run_sync


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    monkeypatch.setenv("HUB_ANALYTICS_URL", "")
    return url


async def _query(url: str, sql: str) -> list[dict]:
    db = Database(url)
    await db.connect()
    try:
        return await db.fetch_all(sql)
    finally:
        await db.disconnect()


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_migrate_twice(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert "applied 0001_core.sql" in first and "applied 0010_search.sql" in first
    assert main(["migrate"]) == 0
    assert _last_line(capsys.readouterr().out) == "database up to date (0 applied)"
    rows = run_sync(_query(cli_env, "SELECT name FROM schema_migrations"))
    assert {"0001_core.sql", "0010_search.sql"} <= {r["name"] for r in rows}


def test_apikey_create_prints_a_working_key_last(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apikey", "create", "--name", "ci", "--scopes", "notify,analytics"]) == 0
    out = capsys.readouterr()
    key = _last_line(out.out)
    assert key.startswith("hub_k_") and "created API key" in out.err

    async def check() -> frozenset[str]:
        db = Database(cli_env)
        await db.connect()
        try:
            return (await check_api_key(db, key)).scopes
        finally:
            await db.disconnect()

    assert run_sync(check()) == {"notify", "analytics"}
    assert main(["apikey", "create", "--name", "x", "--scopes", "root"]) == 2
    assert "error: scopes" in capsys.readouterr().err


def test_token_prints_a_token_last(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "alice", "--ttl", "60"]) == 0
    assert check_user_token(SECRET, _last_line(capsys.readouterr().out)) == "alice"


def test_send(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["send", "--user", "bob", "--category", "ops", "--title", "Disk full", "--body", "90%"]
    assert main([*args, "--link", "/ops/1"]) == 0
    ids = json.loads(_last_line(capsys.readouterr().out))["ids"]
    rows = run_sync(_query(cli_env, "SELECT id, user_id, title, body, link FROM notifications"))
    assert rows == [
        {"id": ids[0], "user_id": "bob", "title": "Disk full", "body": "90%", "link": "/ops/1"}
    ]
    assert main(["send", "--user", "bob", "--category", "bad cat", "--title", "t"]) == 2
    assert "category" in capsys.readouterr().err


def test_demo_seeds_once_and_prints_links(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "/login?token=" in out and "hub_k_" in out
    token = out.split("/login?token=")[1].split()[0]
    assert check_user_token(SECRET, token) == "alice"
    count = run_sync(_query(cli_env, "SELECT COUNT(*) AS n FROM notifications"))[0]["n"]
    assert count >= 300
    cats = run_sync(_query(cli_env, "SELECT COUNT(DISTINCT category) AS n FROM notifications"))
    assert cats[0]["n"] >= 4
    assert main(["demo"]) == 0  # again: no second set of notifications
    again = run_sync(_query(cli_env, "SELECT COUNT(*) AS n FROM notifications"))[0]["n"]
    assert again == count


def test_help_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_SECRET_KEY": SECRET, "HUB_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for name in ("serve", "worker", "migrate", "demo", "send", "apikey", "token", "sql"):
        assert name in done.stdout


async def test_demo_seed_on_both_backends(hub, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.demo import seed

    assert await seed(hub.db, hub.settings, per_user=30) == 0
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 90
    read = await hub.db.fetch_val("SELECT COUNT(*) FROM notifications WHERE is_read")
    reads = await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'read'")
    assert 0 < read < 90 and reads == read
    clicked = await hub.db.fetch_val(
        "SELECT COUNT(*) FROM notifications WHERE clicked_at IS NOT NULL"
    )
    assert clicked == await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'clicked'")
    # the demo user sees them through the API
    r = await hub.client.get("/api/notifications/unread-count", headers=hub.user("alice"))
    assert r.json()["count"] > 0


def test_serve_worker_and_sql_delegate(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import analytics.sql_client
    import hub.delivery.worker
    import hub.realtime.server

    seen: dict = {}

    def fake_serve(app, settings):  # type: ignore[no-untyped-def]
        seen["serve"] = (app.state.settings.run_workers, settings.host, settings.port)

    async def fake_worker(settings):  # type: ignore[no-untyped-def]
        seen["worker"] = settings.database_url
        return 0

    async def fake_sql(settings, query, **kw):  # type: ignore[no-untyped-def]
        seen["sql"] = (query, kw["fmt"])
        return 0

    monkeypatch.setattr(hub.realtime.server, "serve", fake_serve)
    monkeypatch.setattr(hub.delivery.worker, "run_standalone", fake_worker)
    monkeypatch.setattr(analytics.sql_client, "run_cli", fake_sql)
    assert main(["serve", "--no-workers", "--port", "8123"]) == 0
    assert seen["serve"] == (False, "127.0.0.1", 8123)
    assert main(["worker"]) == 0 and seen["worker"] == cli_env
    assert main(["sql", "SELECT 1", "--format", "json"]) == 0
    assert seen["sql"] == ("SELECT 1", "json")
