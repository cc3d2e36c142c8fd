"""Export of a user's notifications as CSV or JSON, streamed row by row.

CSV cells that a spreadsheet would read as a formula (starting with = + - @,
or a tab/CR that some importers strip before looking) get a leading
apostrophe, the OWASP recommendation against CSV injection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from hub.notifications.models import to_json

CSV_FIELDS = (
    "id",
    "created_at",
    "category",
    "priority",
    "title",
    "body",
    "link",
    "is_read",
    "read_at",
    "archived",
    "archived_at",
    "clicked_at",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> str:
    """A cell value safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_line(values: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([escape_cell(v) for v in values])
    return buf.getvalue()


def csv_row(row: dict[str, Any]) -> str:
    item = to_json(row)
    return csv_line(item[f] for f in CSV_FIELDS)


async def csv_stream(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    yield csv_line(CSV_FIELDS)
    async for row in rows:
        yield csv_row(row)


async def json_array(
    rows: AsyncIterator[dict[str, Any]], render: Callable[[dict[str, Any]], Any]
) -> AsyncIterator[str]:
    """A JSON array of render(row) written item by item, so memory stays flat for any size."""
    yield "["
    first = True
    async for row in rows:
        yield ("" if first else ",") + "\n" + json.dumps(render(row), ensure_ascii=False)
        first = False
    yield "\n]\n"


def json_stream(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    return json_array(rows, to_json)
