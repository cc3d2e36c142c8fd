"""POST /api/admin/sql, GET /api/admin/sql/examples, and `hub sql` through the running app."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics.sql_client import run_cli
from tests.conftest import Hub, make_settings, start_hub

SQL = "/api/admin/sql"


@pytest.fixture
async def one(sqlite_url: str, analytics_url: str, tmp_path: Path) -> Any:
    async for h in start_hub(make_settings(sqlite_url, tmp_path, analytics_url=analytics_url)):
        await h.send("alice", category="billing")
        await h.send("bob", category="social")
        await h.state.analytics.ingester.drain()
        yield h


async def sql(hub: Hub, query: Any, headers: dict[str, str]) -> httpx.Response:
    return await hub.client.post(SQL, json={"query": query}, headers=headers)


async def test_admin_runs_a_select(one: Hub) -> None:
    admin = await one.key("admin")
    r = await sql(
        one, "SELECT category, count() AS n FROM events GROUP BY category ORDER BY category", admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == [
        {"name": "category", "type": "LowCardinality(String)"},
        {"name": "n", "type": "UInt64"},
    ]
    assert body["rows"] == [["billing", 1], ["social", 1]]
    assert body["row_count"] == 2 and body["truncated"] is False
    assert body["elapsed_ms"] >= 0
    r = await sql(one, "SELECT event_id, event_time FROM events LIMIT 1", admin)
    row = r.json()["rows"][0]
    assert len(row[0]) == 36 and row[1].endswith("Z")


async def test_only_admins(one: Hub) -> None:
    for headers in ({}, await one.key("analytics"), one.user("alice")):
        r = await sql(one, "SELECT 1", headers)
        assert r.status_code in (401, 403)
        r = await one.client.get(f"{SQL}/examples", headers=headers)
        assert r.status_code in (401, 403)


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO events (event) VALUES ('read')",
        "ALTER TABLE events DELETE WHERE 1",
        "DROP TABLE events",
        "SYSTEM DROP DNS CACHE",
        "CREATE TABLE x (a Int8) ENGINE = Memory",
        "SELECT 1; DROP TABLE events",
    ],
)
async def test_writes_are_refused_and_change_nothing(one: Hub, query: str) -> None:
    admin = await one.key("admin")
    r = await sql(one, query, admin)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "sql_forbidden" and "query" in err["fields"]
    r = await sql(one, "SELECT count() FROM events", admin)
    assert r.json()["rows"] == [[2]]


async def test_engine_readonly_is_the_second_guard(one: Hub) -> None:
    """Past the keyword check, the engine itself refuses: file() and SETTINGS readonly=0."""
    admin = await one.key("admin")
    for q in (
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT 1 SETTINGS max_result_rows = 100000000",
    ):
        r = await sql(one, q, admin)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "sql_forbidden"
    # the writer is untouched by the console's read-only session
    await one.send("carol")
    assert await one.state.analytics.ingester.drain() == 1


async def test_clickhouse_errors_are_400_with_the_message(one: Hub) -> None:
    admin = await one.key("admin")
    r = await sql(one, "SELECT nope FROM events", admin)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "sql_error" and "nope" in err["message"]
    r = await sql(one, "SELEC 1", admin)
    assert r.status_code == 422  # not a read keyword
    for bad in ("", 5, None):
        r = await sql(one, bad, admin)
        assert r.status_code == 422 and "query" in r.json()["error"]["fields"]
    r = await one.client.post(SQL, content=b"{nope", headers=admin)
    assert r.status_code == 422


async def test_rows_are_capped(one: Hub) -> None:
    admin = await one.key("admin")
    r = await sql(one, "SELECT number FROM numbers(5000)", admin)
    body = r.json()
    assert body["row_count"] == 1000 and body["truncated"] is True
    assert body["rows"][:3] == [[0], [1], [2]]


async def test_examples_run(one: Hub) -> None:
    admin = await one.key("admin")
    r = await one.client.get(f"{SQL}/examples", headers=admin)
    examples = r.json()["examples"]
    assert {"name", "title", "sql"} <= set(examples[0])
    for ex in examples:
        r = await sql(one, ex["sql"], admin)
        assert r.status_code == 200, (ex["name"], r.text)


async def test_hub_sql_cli_through_the_app(one: Hub) -> None:
    key = (await one.key("admin"))["Authorization"].split()[1]
    transport = httpx.ASGITransport(app=one.app)
    out, err = io.StringIO(), io.StringIO()
    q = "SELECT category, count() AS n FROM events GROUP BY category ORDER BY category"
    code = await run_cli(
        one.settings, q, url="http://hub", key=key, transport=transport, out=out, err=err
    )
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["category", "|", "n"]
    assert lines[2].split() == ["billing", "|", "1"]
    assert lines[-1].startswith("2 row(s)")

    out = io.StringIO()
    assert (
        await run_cli(
            one.settings, q, url="http://hub", key=key, fmt="csv", transport=transport, out=out
        )
        == 0
    )
    assert out.getvalue() == "category,n\nbilling,1\nsocial,1\n"

    out = io.StringIO()
    assert (
        await run_cli(
            one.settings, q, url="http://hub", key=key, fmt="json", transport=transport, out=out
        )
        == 0
    )
    assert json.loads(out.getvalue())["rows"] == [["billing", 1], ["social", 1]]

    err = io.StringIO()
    code = await run_cli(
        one.settings, "DROP TABLE events", url="http://hub", key=key, transport=transport, err=err
    )
    assert code == 1 and "sql_forbidden" in err.getvalue()


async def test_hub_sql_cli_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make_settings("sqlite:///x.db", tmp_path, base_url="http://127.0.0.1:9")
    monkeypatch.delenv("HUB_API_KEY", raising=False)
    err = io.StringIO()
    assert await run_cli(settings, "SELECT 1", err=err) == 2
    assert "HUB_API_KEY" in err.getvalue()
    monkeypatch.setenv("HUB_API_KEY", "hub_k_x_y")
    err = io.StringIO()
    assert await run_cli(settings, "SELECT 1", err=err) == 1
    assert "cannot reach the hub at http://127.0.0.1:9" in err.getvalue()


def test_format_table_and_csv() -> None:
    from analytics.sql_client import format_csv, format_table

    t = format_table(["a", "bb"], [[None, {"x": 1}], ["long value", [1]]])
    assert t.splitlines()[2].startswith("NULL")
    assert '{"x": 1}' in t
    assert format_csv(["a"], [[None], [[1, 2]], ["=1+1"]]) == 'a\n""\n"[1, 2]"\n=1+1\n'
