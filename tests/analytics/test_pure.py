"""Pure parts of analytics: windows, buckets, URL parsing, SQL guard, shaping."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid

import pytest

from analytics import queries
from analytics.ingest import backoff_seconds, to_arrow
from analytics.migrate import render, split_statements
from analytics.params import parse_filters
from analytics.sink import error_message, parse_url
from analytics.sql_console import SqlForbidden, check_sql, jsonable, load_examples
from analytics.testing import with_database
from hub.db import iso_to_ms
from hub.errors import Invalid

H = queries.HOUR_MS


def test_split_ranges_covers_every_ms_once() -> None:
    D = queries.DAY_MS
    start, end = 2 * D - 2 * H - 5, 5 * D + 3 * H + 7
    parts = queries.split_ranges(start, end)
    assert parts == [
        (None, start, 2 * D - 2 * H),
        ("events_hourly", 2 * D - 2 * H, 2 * D),
        ("events_daily", 2 * D, 5 * D),
        ("events_hourly", 5 * D, 5 * D + 3 * H),
        (None, 5 * D + 3 * H, end),
    ]
    # keys that need hours skip the daily level
    assert queries.split_ranges(start, end, H) == [
        (None, start, 2 * D - 2 * H),
        ("events_hourly", 2 * D - 2 * H, 5 * D + 3 * H),
        (None, 5 * D + 3 * H, end),
    ]
    assert queries.split_ranges(6 * H, 9 * H) == [("events_hourly", 6 * H, 9 * H)]
    assert queries.split_ranges(5 * H + 1, 5 * H + 99) == [(None, 5 * H + 1, 5 * H + 99)]
    assert queries.split_ranges(0, 3 * H, 0) == [(None, 0, 3 * H)]


def test_buckets_align_to_utc_and_monday() -> None:
    ms = iso_to_ms("2026-11-19T15:42:10Z")  # a Thursday
    assert queries.bucket_of(ms, "minute") == iso_to_ms("2026-11-19T15:42:00Z")
    assert queries.bucket_of(ms, "hour") == iso_to_ms("2026-11-19T15:00:00Z")
    assert queries.bucket_of(ms, "day") == iso_to_ms("2026-11-19")
    assert queries.bucket_of(ms, "week") == iso_to_ms("2026-11-16")  # Monday
    starts = queries.bucket_starts(ms, ms + 2 * queries.DAY_MS, "day")
    assert starts == [iso_to_ms(d) for d in ("2026-11-19", "2026-11-20", "2026-11-21")]
    assert queries.bucket_count(ms, ms + 2 * queries.DAY_MS, "day") == 3


def test_choose_source() -> None:
    short = queries.Filters(0, H)
    long = queries.Filters(0, 10 * H)
    assert queries.choose_source(short, "auto") == "raw"
    assert queries.choose_source(long, "auto") == "rollup"
    assert queries.choose_source(long, "raw") == "raw"


def test_build_uses_parameters_not_text() -> None:
    f = queries.Filters(H + 5, 5 * H + 7, category="it's", channel="email", events=("read",))
    plan = queries.build([queries.KEY_EVENT], ["events"], f, "rollup")
    assert "it's" not in plan.sql and plan.params["category"] == "it's"
    assert "events_hourly" in plan.sql and "FROM events WHERE" in plan.sql
    assert plan.params["p1a"] == 2 * H // 1000 and plan.params["p1b"] == 5 * H // 1000
    minute = queries.build([queries.bucket_key("minute")], ["events"], f, "rollup")
    assert minute.source == "raw" and "events_hourly" not in minute.sql


def test_shapers() -> None:
    assert queries.shape_funnel([{"event": "created", "notifications": 4}])[1] == {
        "stage": "delivered",
        "notifications": 0,
        "rate_from_start": 0.0,
        "rate_from_previous": 0.0,
    }
    grid = queries.shape_heatmap([{"how": 0, "events": 2}, {"how": 7 * 24 - 1, "events": 3}])
    assert grid[0][0] == 2 and grid[6][23] == 3
    lat = queries.shape_latency(
        [
            {"channel": "a", "latency_count": 0, "latency_sum": 0, "latency": []},
            {"channel": "b", "latency_count": 2, "latency_sum": 30, "latency": [10, 20, 20, 20]},
        ]
    )
    assert lat == [
        {
            "channel": "b",
            "count": 2,
            "avg_ms": 15.0,
            "p50": 10.0,
            "p90": 20.0,
            "p95": 20.0,
            "p99": 20.0,
        }
    ]


def test_parse_filters_defaults() -> None:
    now = iso_to_ms("2026-11-19T12:00:00Z")
    f = parse_filters({}, now=now)
    assert (f.start_ms, f.end_ms) == (now - 7 * queries.DAY_MS, now)
    f = parse_filters({}, interval="minute", now=now)
    assert f.end_ms - f.start_ms == H
    f = parse_filters({"from": "2026-11-01", "category": "", "events": "read, clicked,read"})
    assert f.category is None and f.events == ("read", "clicked")
    with pytest.raises(Invalid):
        parse_filters({"from": "2026-11-19T12:00:00Z", "to": "2026-11-19T12:00:00Z"})


def test_parse_url() -> None:
    c = parse_url("chdb:///var/analytics?database=hub")
    assert (c.scheme, c.path, c.database) == ("chdb", "/var/analytics", "hub")
    assert parse_url("chdb://var/analytics").path == "var/analytics"
    s = parse_url("clickhouse://u:p%40ss@ch.example:8124/stats")
    assert (s.host, s.port, s.username, s.database, s.secure) == (
        "ch.example",
        8124,
        "u",
        "stats",
        False,
    )
    assert "p%40ss" not in repr(s) and "p@ss" not in repr(s)
    assert parse_url("clickhouses://h/db").port == 8443
    assert parse_url("clickhouse://h?secure=1").secure is True
    with pytest.raises(ValueError, match="scheme"):
        parse_url("mysql://h/db")
    with pytest.raises(ValueError, match="directory"):
        parse_url("chdb://")
    assert with_database("chdb:///x?database=a", "b") == "chdb:///x?database=b"
    assert with_database("clickhouse://u:p@h:8123/a", "b") == "clickhouse://u:p@h:8123/b"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select 1;  ",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SHOW TABLES",
        "DESCRIBE events",
        "EXPLAIN SELECT 1",
        "-- note; with a semicolon\nSELECT ';' AS s -- trailing ; comment",
        "SELECT 'a;b', `we;ird`, \"x;y\" FROM events /* ; */",
        "(SELECT 1)",
    ],
)
def test_check_sql_allows_one_read(sql: str) -> None:
    out = check_sql(sql)
    assert out and not out.rstrip().endswith(";")


@pytest.mark.parametrize(
    ("sql", "word"),
    [
        ("INSERT INTO events VALUES (1)", "INSERT"),
        ("alter table events delete where 1", "ALTER"),
        ("DROP TABLE events", "DROP"),
        ("SYSTEM FLUSH LOGS", "SYSTEM"),
        ("CREATE TABLE x (a Int8) ENGINE=Memory", "CREATE"),
        ("TRUNCATE events", "TRUNCATE"),
        ("SET readonly = 0", "SET"),
        ("OPTIMIZE TABLE events FINAL", "OPTIMIZE"),
        ("/* hi */ KILL QUERY WHERE 1", "KILL"),
    ],
)
def test_check_sql_refuses_writes(sql: str, word: str) -> None:
    with pytest.raises(SqlForbidden) as err:
        check_sql(sql)
    assert word in err.value.message and err.value.status == 422


@pytest.mark.parametrize(
    "sql", ["SELECT 1; DROP TABLE events", "SELECT 1;SELECT 2", "SELECT 1; 'x'", "SELECT 1 ; ;x"]
)
def test_check_sql_refuses_two_statements(sql: str) -> None:
    with pytest.raises(SqlForbidden, match="one statement"):
        check_sql(sql)


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment", "x" * 20_001])
def test_check_sql_needs_a_statement(sql: str) -> None:
    with pytest.raises(Invalid):
        check_sql(sql)


def test_explain_analyze_refused() -> None:
    with pytest.raises(SqlForbidden):
        check_sql("EXPLAIN ANALYZE SELECT 1")


def test_jsonable() -> None:
    u = uuid.uuid4()
    assert jsonable(dt.datetime(2026, 1, 2, 3, 4, 5, 600000)) == "2026-01-02T03:04:05.600Z"
    aware = dt.datetime(2026, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert jsonable(aware) == "2026-01-02T03:04:05.000Z"
    assert jsonable(dt.date(2026, 1, 2)) == "2026-01-02"
    assert jsonable(decimal.Decimal("1.5")) == 1.5
    assert jsonable(u) == str(u)
    assert jsonable(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"
    assert jsonable(b"abc") == "abc" and jsonable(b"\xff") == "/w=="
    assert jsonable(float("nan")) is None and jsonable(2.5) == 2.5
    assert jsonable({"a": (1, {2})}) == {"a": [1, [2]]}
    assert jsonable(object()).startswith("<object")


def test_examples_have_titles_and_are_reads() -> None:
    examples = load_examples()
    assert len(examples) >= 5
    for ex in examples:
        assert ex["title"] and ex["title"] != ex["name"]
        check_sql(ex["sql"])


def test_schema_statements_split() -> None:
    text = "-- c\nCREATE TABLE a (x Int8) ENGINE=Memory;\n\nSELECT\n 1;\nSELECT 2"
    assert split_statements(text) == [
        "CREATE TABLE a (x Int8) ENGINE=Memory",
        "SELECT\n 1",
        "SELECT 2",
    ]
    assert render("TTL x + INTERVAL {ttl_days} DAY", 30) == "TTL x + INTERVAL 30 DAY"


def test_misc_helpers() -> None:
    assert backoff_seconds(1.0, 0) == 1.0
    assert backoff_seconds(1.0, 3) == 8.0
    assert backoff_seconds(1.0, 50) == 30.0
    assert error_message(RuntimeError("first\nsecond")) == "first"
    assert error_message(RuntimeError("")) == "RuntimeError"
    t = to_arrow(
        [(uuid.UUID(int=1), 1000, "read", None, None, "c", None, None, -5, None, None, None)]
    )
    row = t.to_pylist()[0]
    assert row["notification_id"] == 0 and row["user_id"] == "" and row["latency_ms"] == 0
    assert row["event_id"] == str(uuid.UUID(int=1))
    assert to_arrow([]).num_rows == 0
