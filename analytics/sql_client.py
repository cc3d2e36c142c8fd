"""`hub sql`: run read-only SQL through the running hub's HTTP API.

chDB allows one process per data directory and the serving process owns it,
so the shell goes through POST /api/admin/sql like the web console does.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from typing import Any, TextIO

import httpx

from hub.settings import Settings


def format_table(columns: list[str], rows: list[list[Any]]) -> str:
    """Pure: rows as an aligned text table."""

    def cell(v: Any) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, dict | list):
            return json.dumps(v)
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    line = "+".join("-" * (w + 2) for w in widths)
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), line]
    for row in cells:
        out.append(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in out)


def format_csv(columns: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if v is None else json.dumps(v) if isinstance(v, dict | list) else v for v in row]
        )
    return buf.getvalue()


def render(body: dict[str, Any], fmt: str) -> str:
    columns = [c["name"] for c in body["columns"]]
    if fmt == "json":
        return json.dumps(body, indent=2)
    if fmt == "csv":
        return format_csv(columns, body["rows"]).rstrip("\n")
    text = format_table(columns, body["rows"])
    note = f"{body['row_count']} row(s) in {body['elapsed_ms']} ms"
    if body.get("truncated"):
        note += " (truncated)"
    return f"{text}\n{note}"


async def run_cli(
    settings: Settings,
    query: str,
    *,
    url: str | None = None,
    key: str | None = None,
    fmt: str = "table",
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """POST the query to the running hub; print the result. 0 ok, 1 refused/failed, 2 usage."""
    out = out or sys.stdout
    err = err or sys.stderr
    # the CLI prints its own result; httpx's per-request INFO lines are noise here
    logging.getLogger("httpx").setLevel(logging.WARNING)
    key = key or os.environ.get("HUB_API_KEY", "")
    if not key:
        print("error: an admin API key is needed (--key or HUB_API_KEY)", file=err)
        return 2
    base = (url or settings.base_url).rstrip("/")
    try:
        async with httpx.AsyncClient(base_url=base, transport=transport, timeout=60) as client:
            r = await client.post(
                "/api/admin/sql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
            )
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the hub at {base} ({type(exc).__name__})", file=err)
        return 1
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code", f"http_{r.status_code}")
        print(f"error ({code}): {error.get('message', r.text[:500])}", file=err)
        return 1
    print(render(body, fmt), file=out)
    return 0
