"""Full-text search over title and body: query sanitising (pure) and the SQL
for each backend (Postgres tsvector/GIN + ts_rank, SQLite FTS5 + bm25).

The user's text never reaches the FTS parser as syntax: it is cut into
letter/digit runs, and each run becomes a quoted prefix term, so operators,
quotes, column filters and NEAR() in the input are just separators.
"""

from __future__ import annotations

import re

from hub.db import Database
from hub.errors import Invalid
from hub.notifications import filters
from hub.notifications.center import Row
from hub.notifications.filters import SearchQuery, Where
from hub.notifications.store import COLUMNS

MAX_TERMS = 8
MAX_TERM_CHARS = 64
TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)
QUALIFIED = ", ".join(f"n.{c.strip()}" for c in COLUMNS.split(","))
# title matches count ten times a body match (bm25 column weights)
SQLITE_RANK = "bm25(notifications_fts, 10.0, 1.0)"
# Above this many rows a user's search goes through the GIN index (see search_sql).
GIN_THRESHOLD = 5000


def terms(text: str) -> list[str]:
    """The search terms in `text`: lower-cased letter/digit runs, at most 8."""
    found = [t[:MAX_TERM_CHARS] for t in TERM_RE.findall(text.lower())]
    return list(dict.fromkeys(found))[:MAX_TERMS]


def require_terms(text: str) -> list[str]:
    found = terms(text)
    if not found:
        raise Invalid.field("query", "give at least one word or number to search for")
    return found


def pg_tsquery(words: list[str]) -> str:
    """Every word as a prefix ('inv' finds 'invoice'), all required."""
    return " & ".join(f"'{w}':*" for w in words)


def fts5_query(words: list[str]) -> str:
    return " ".join(f'"{w}"*' for w in words)


def search_sql(
    dialect: str, user_id: str, q: SearchQuery, through_gin: bool = False
) -> tuple[Where, Where]:
    """(page query, count query) for `q` on `dialect` (pure).

    Ranking needs every match anyway, so on Postgres the page query also
    counts them (a window over all matches, taken before LIMIT) and the count
    query is only needed when the page is empty. (FTS5 refuses bm25() next to
    a window function, so SQLite always runs both.)

    On Postgres a prefix term ('ord':*) makes the GIN index collect every
    matching row of every user before the user's rows are picked, which costs
    time in proportion to the whole table. A center user has few rows, so by
    default the match is written as the function ts_match_vq(), which no index
    can take: the planner walks the user's rows through the btree and tests
    each. `through_gin` (for users with very many rows) writes the @@ operator
    so the GIN index can be used.
    """
    words = require_terms(q.query)
    if dialect == "postgresql":
        w = filters.where(user_id, q)
        params = {**w.params, "q": pg_tsquery(words)}
        match = "search @@ {}" if through_gin else "ts_match_vq(search, {})"
        cond = f"{w.sql} AND " + match.format("to_tsquery('simple', :q)")
        page = (
            f"SELECT {COLUMNS}, ts_rank(search, to_tsquery('simple', :q)) AS rank,"
            f" COUNT(*) OVER () AS total FROM notifications WHERE {cond}"
            " ORDER BY rank DESC, id DESC LIMIT :lim OFFSET :skip"
        )
        count = f"SELECT COUNT(*) FROM notifications WHERE {cond}"
    else:
        w = filters.where(user_id, q, alias="n.")
        params = {**w.params, "q": fts5_query(words)}
        join = (
            "FROM notifications_fts JOIN notifications n ON n.id = notifications_fts.rowid"
            f" WHERE notifications_fts MATCH :q AND {w.sql}"
        )
        page = (
            f"SELECT {QUALIFIED}, -{SQLITE_RANK} AS rank {join}"
            f" ORDER BY {SQLITE_RANK} ASC, n.id DESC LIMIT :lim OFFSET :skip"
        )
        count = f"SELECT COUNT(*) {join}"
    return Where(page, {**params, "lim": q.limit, "skip": q.skip}), Where(count, params)


async def many_rows(db: Database, user_id: str) -> bool:
    """Whether the user has more rows than a per-row test is quick for (bounded count)."""
    n = await db.fetch_val(
        "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = :u LIMIT :cap) t",
        {"u": user_id, "cap": GIN_THRESHOLD + 1},
    )
    return int(n) > GIN_THRESHOLD


async def search(db: Database, user_id: str, q: SearchQuery) -> tuple[list[Row], int]:
    """The page of matches, best first, and how many match in all."""
    through_gin = db.is_postgres and await many_rows(db, user_id)
    page, count = search_sql(db.dialect, user_id, q, through_gin)
    rows = await db.fetch_all(page.sql, page.params)
    if rows and "total" in rows[0]:
        return rows, int(rows[0]["total"])
    if not rows and q.skip == 0:
        return rows, 0
    return rows, int(await db.fetch_val(count.sql, count.params))
