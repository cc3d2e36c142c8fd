"""Every center query is answered through an index, on Postgres (EXPLAIN) and
SQLite (EXPLAIN QUERY PLAN): never a scan of the whole notifications table.

The table is filled with 30,000 rows over 300 users and analysed, so the
Postgres planner picks the plan it would pick in production on its own; no
enable_seqscan tricks.
"""

from __future__ import annotations

import json

from hub.notifications import center, filters, search
from hub.notifications.cursor import Cursor
from hub.notifications.store import UNREAD_SQL
from tests.conftest import Hub

USERS = 300
PER_USER = 100


async def _fill(hub: Hub) -> None:
    n = USERS * PER_USER
    if hub.db.is_postgres:
        sql = (
            "INSERT INTO notifications (user_id, category, title, body, created_at, is_read,"
            " archived) SELECT 'u' || (g % {users}), 'cat' || (g % 7),"
            " 'Order ' || g || ' shipped', 'Parcel ' || g || ' is on its way',"
            " 1700000000000 + g * 1000, g % 3 = 0, g % 11 = 0 FROM generate_series(1, {n}) g"
        )
    else:
        sql = (
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n})"
            " INSERT INTO notifications (user_id, category, title, body, created_at, is_read,"
            " archived) SELECT 'u' || (g % {users}), 'cat' || (g % 7),"
            " 'Order ' || g || ' shipped', 'Parcel ' || g || ' is on its way',"
            " 1700000000000 + g * 1000, g % 3 = 0, g % 11 = 0 FROM s"
        )
    # literal numbers: the driver layer treats "%" in parametrised SQL as a placeholder
    await hub.db.executescript(sql.format(n=n, users=USERS))
    if hub.db.is_postgres:
        # VACUUM sets the visibility map that index-only scans rely on, as
        # autovacuum would on a live table
        await hub.db.executescript("VACUUM ANALYZE notifications")
    else:
        await hub.db.executescript("ANALYZE")


def _queries() -> dict[str, filters.Where]:
    u = "u7"
    default = filters.where(u, filters.CenterQuery())
    unread = filters.where(u, filters.CenterQuery(is_read=False))
    category = filters.where(u, filters.CenterQuery(category="cat3"))
    all_rows = filters.where(u, filters.CenterQuery(archived=None))
    cursor = Cursor(sort="newest", id=20_000)
    return {
        "first page": center.listing_sql(default, "newest", None, 21, 0),
        "cursor page": center.listing_sql(default, "newest", cursor, 21, 0),
        "oldest": center.listing_sql(default, "oldest", Cursor("oldest", 5000), 21, 0),
        "unread first": center.listing_sql(default, "unread_first", None, 21, 0),
        "unread first, cursor": center.listing_sql(
            default, "unread_first", Cursor("unread_first", 20_000, False), 21, 0
        ),
        "unread only": center.listing_sql(unread, "newest", None, 21, 0),
        "category": center.listing_sql(category, "newest", None, 21, 0),
        "archived too": center.listing_sql(all_rows, "newest", cursor, 21, 0),
        "total": center.total_sql(default),
        "total unread": center.total_sql(unread),
        "categories": center.categories_sql(default),
        "unread count": filters.Where(UNREAD_SQL, {"u": u}),
    }


def _search_queries(dialect: str) -> dict[str, filters.Where]:
    q = filters.SearchQuery(query="ship parcel")
    page, count = search.search_sql(dialect, "u7", q)
    gin_page, gin_count = search.search_sql(dialect, "u7", q, through_gin=True)
    return {"search": page, "search count": count, "search gin": gin_page, "gin count": gin_count}


async def test_pg_center_queries_use_indexes(hub: Hub) -> None:
    await _fill(hub)
    queries = {**_queries(), **_search_queries(hub.db.dialect)}
    for name, q in queries.items():
        if hub.db.is_postgres:
            rows = await hub.db.fetch_all(f"EXPLAIN (FORMAT JSON) {q.sql}", q.params)
            plan = rows[0]["QUERY PLAN"]
            text = plan if isinstance(plan, str) else json.dumps(plan)
            assert "Seq Scan" not in text, (name, text)
            assert "Index" in text, (name, text)
        else:
            rows = await hub.db.fetch_all(f"EXPLAIN QUERY PLAN {q.sql}", q.params)
            details = [r["detail"] for r in rows]
            scans = [d for d in details if d.startswith("SCAN n") and "VIRTUAL" not in d]
            assert not scans, (name, details)
            assert any("INDEX" in d or "VIRTUAL TABLE" in d for d in details), (name, details)
    # and the queries return what they should on this data
    got = await hub.db.fetch_val(UNREAD_SQL, {"u": "u7"})
    expected = sum(1 for g in range(1, USERS * PER_USER + 1) if g % USERS == 7 and g % 3 and g % 11)
    assert got == expected
