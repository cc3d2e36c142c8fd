"""The overview numbers of a user's feed, folded from grouped counts (pure)."""

from __future__ import annotations

from typing import Any

from hub.activity.models import STATUSES

DAY_MS = 24 * 3600 * 1000
WINDOWS = {"last_7_days": 7, "last_30_days": 30}


def since(now: int) -> dict[str, int]:
    """Start (epoch ms, inclusive) of each rolling window ending at `now`."""
    return {name: now - days * DAY_MS for name, days in WINDOWS.items()}


def _empty() -> dict[str, Any]:
    return {"total": 0, "by_type": {}, "by_status": dict.fromkeys(STATUSES, 0)}


def summarize(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of (activity_type, status, total, last_7_days, last_30_days) → the overview.

    Every status is always present (0 when none), types only when they occur,
    so a client can render the shape without special cases.
    """
    out: dict[str, Any] = {"all_time": _empty(), **{name: _empty() for name in WINDOWS}}
    for row in groups:
        for name, column in (("all_time", "total"), *((w, w) for w in WINDOWS)):
            n = int(row[column] or 0)
            if n == 0:
                continue
            part = out[name]
            part["total"] += n
            part["by_type"][row["activity_type"]] = part["by_type"].get(row["activity_type"], 0) + n
            part["by_status"][row["status"]] = part["by_status"].get(row["status"], 0) + n
    for part in out.values():
        part["by_type"] = dict(sorted(part["by_type"].items(), key=lambda kv: (-kv[1], kv[0])))
    return out
