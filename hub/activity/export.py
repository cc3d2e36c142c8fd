"""Export rendering: activities as a streamed JSON array or formula-safe CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from hub.activity.models import to_json
from hub.notifications.export import FORMULA_START, json_array

CSV_COLUMNS = (
    "id",
    "created_at",
    "activity_type",
    "action",
    "status",
    "resource_type",
    "resource_id",
    "title",
    "description",
    "ip_address",
    "user_agent",
    "metadata",
)


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(activity: dict[str, Any]) -> list[Any]:
    values = dict(activity)
    meta = values.get("metadata")
    values["metadata"] = json.dumps(meta, ensure_ascii=False) if meta is not None else ""
    return [csv_safe("" if values.get(c) is None else values[c]) for c in CSV_COLUMNS]


def _csv_line(cells: list[Any] | tuple[str, ...]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue()


async def as_csv(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    yield _csv_line(CSV_COLUMNS)
    async for row in rows:
        yield _csv_line(csv_row(to_json(row)))


def as_json(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    return json_array(rows, to_json)
