"""The admin SQL console: one read-only statement against the analytics store.

Two guards: ``check_sql`` (pure) refuses anything but one SELECT-like statement
before it reaches the engine, with a message that says why; the engine then
runs it on a client whose session is ``readonly=1`` with execution-time and
result-row limits it cannot lift. Either guard alone would refuse a write.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import re
import time
import uuid
from pathlib import Path
from typing import Any

from analytics.sink import CONSOLE_ROW_CAP, Sink, SinkError
from hub.errors import HubError, Invalid

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "sql" / "clickhouse" / "examples"
MAX_QUERY_CHARS = 20_000
READ_KEYWORDS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")

_TOKEN = re.compile(
    r"""
      (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<ident>`(?:[^`\\]|\\.)*(?:`|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
    | (?P<semi>;)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)


class SqlForbidden(HubError):
    status = 422
    code = "sql_forbidden"


class SqlError(HubError):
    status = 400
    code = "sql_error"


def check_sql(query: str) -> str:
    """Pure: the statement to run (trailing ``;`` dropped), or SqlForbidden/Invalid."""
    if not isinstance(query, str) or not query.strip():
        raise Invalid.field("query", "a SQL statement is required")
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid.field("query", f"at most {MAX_QUERY_CHARS} characters")
    words: list[str] = []
    semis: list[int] = []
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup
        if kind == "comment":
            continue
        if kind == "semi":
            semis.append(m.start())
            continue
        if semis:
            raise SqlForbidden(
                "exactly one statement is allowed; remove everything after the ';'",
                fields={"query": "more than one statement"},
            )
        if kind == "word":
            words.append(m.group().upper())
    if not words:
        raise Invalid.field("query", "a SQL statement is required")
    first = words[0]
    if first not in READ_KEYWORDS:
        raise SqlForbidden(
            f"{first} is not allowed: the console is read-only"
            f" (allowed: {', '.join(READ_KEYWORDS)})",
            fields={"query": f"{first} statements are refused"},
        )
    if first == "EXPLAIN" and len(words) > 1 and words[1] in ("ANALYZE",):
        raise SqlForbidden("EXPLAIN ANALYZE is not allowed", fields={"query": "refused"})
    statement = query.strip()
    if semis:
        statement = query[: semis[0]].strip()
    return statement


def jsonable(value: Any) -> Any:
    """Pure: a ClickHouse value as JSON (dates ISO 8601, UUIDs as text, …)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return str(value)


async def run_console(sink: Sink, query: str) -> dict[str, Any]:
    """Run one read-only statement; the console's JSON answer."""
    statement = check_sql(query)
    started = time.perf_counter()
    try:
        result = await sink.console_query(statement)
    except SinkError as exc:
        message = str(exc)
        if "READONLY" in message or "readonly mode" in message:
            raise SqlForbidden(
                "the console is read-only: " + message, fields={"query": "refused"}
            ) from None
        raise SqlError(message, fields={"query": message}) from None
    elapsed = (time.perf_counter() - started) * 1000
    rows = result.rows
    truncated = len(rows) > CONSOLE_ROW_CAP
    rows = rows[:CONSOLE_ROW_CAP]
    return {
        "columns": [
            {"name": n, "type": t} for n, t in zip(result.columns, result.types, strict=True)
        ],
        "rows": [[jsonable(v) for v in row] for row in rows],
        "row_count": len(rows),
        "truncated": truncated,
        "elapsed_ms": round(elapsed, 2),
    }


def load_examples(directory: Path = EXAMPLES_DIR) -> list[dict[str, str]]:
    """The example queries: name, title (the first comment line) and SQL."""
    out: list[dict[str, str]] = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text().strip()
        title = ""
        for line in text.splitlines():
            if line.strip().startswith("--"):
                title = line.strip().lstrip("-").strip()
                break
        out.append({"name": path.stem, "title": title or path.stem, "sql": text})
    return out
