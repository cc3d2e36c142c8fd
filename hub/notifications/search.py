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
from hub.notifications.filters import SearchQuery
from hub.notifications.store import COLUMNS

MAX_TERMS = 8
MAX_TERM_CHARS = 64
TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)
QUALIFIED = ", ".join(f"n.{c.strip()}" for c in COLUMNS.split(","))
# title matches count ten times a body match (bm25 column weights)
SQLITE_RANK = "bm25(notifications_fts, 10.0, 1.0)"


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


async def search(db: Database, user_id: str, q: SearchQuery) -> tuple[list[Row], int]:
    """The page of matches, best first, and how many match in all."""
    words = require_terms(q.query)
    if db.is_postgres:
        w = filters.where(user_id, q)
        params = {**w.params, "q": pg_tsquery(words), "lim": q.limit, "skip": q.skip}
        cond = f"{w.sql} AND search @@ to_tsquery('simple', :q)"
        rows = await db.fetch_all(
            f"SELECT {COLUMNS}, ts_rank(search, to_tsquery('simple', :q)) AS rank"
            f" FROM notifications WHERE {cond}"
            " ORDER BY rank DESC, id DESC LIMIT :lim OFFSET :skip",
            params,
        )
        count = await db.fetch_val(
            f"SELECT COUNT(*) FROM notifications WHERE {cond}",
            {k: v for k, v in params.items() if k not in {"lim", "skip"}},
        )
        return rows, int(count)
    w = filters.where(user_id, q, alias="n.")
    params = {**w.params, "q": fts5_query(words), "lim": q.limit, "skip": q.skip}
    join = (
        "FROM notifications_fts JOIN notifications n ON n.id = notifications_fts.rowid"
        f" WHERE notifications_fts MATCH :q AND {w.sql}"
    )
    rows = await db.fetch_all(
        f"SELECT {QUALIFIED}, -{SQLITE_RANK} AS rank {join}"
        f" ORDER BY {SQLITE_RANK} ASC, n.id DESC LIMIT :lim OFFSET :skip",
        params,
    )
    count = await db.fetch_val(
        f"SELECT COUNT(*) {join}", {k: v for k, v in params.items() if k not in {"lim", "skip"}}
    )
    return rows, int(count)
