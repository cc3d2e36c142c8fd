"""Query-string parameters of the analytics API: parsed and checked, 422 naming the field."""

from __future__ import annotations

from collections.abc import Mapping

from analytics import queries
from analytics.events import EVENT_TYPES
from hub.db import iso_to_ms, now_ms
from hub.errors import Invalid

DEFAULT_WINDOW_MS = 7 * queries.DAY_MS
DEFAULT_MINUTE_WINDOW_MS = queries.HOUR_MS
MAX_WINDOW_MS = 5 * 366 * queries.DAY_MS


def _time(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return iso_to_ms(value)
    except (ValueError, OverflowError):
        raise Invalid.field(name, "expected an ISO 8601 date or datetime") from None


def _label(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > 100:
        raise Invalid.field(name, "at most 100 characters")
    return value


def choice(params: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in options:
        raise Invalid.field(name, f"choose from {', '.join(options)}")
    return value


def event_list(params: Mapping[str, str], name: str = "events") -> tuple[str, ...]:
    raw = params.get(name) or ""
    items = tuple(dict.fromkeys(e.strip() for e in raw.split(",") if e.strip()))
    bad = [e for e in items if e not in EVENT_TYPES]
    if bad:
        raise Invalid.field(name, f"unknown event type {bad[0]!r}")
    return items


def parse_filters(
    params: Mapping[str, str], interval: str | None = None, now: int | None = None
) -> queries.Filters:
    """Pure apart from the clock: the window and filters of an analytics request."""
    end = _time(params, "to")
    start = _time(params, "from")
    end = end if end is not None else (now if now is not None else now_ms())
    if start is None:
        window = DEFAULT_MINUTE_WINDOW_MS if interval == "minute" else DEFAULT_WINDOW_MS
        start = end - window
    if start >= end:
        raise Invalid.field("from", "must be before 'to'")
    if end - start > MAX_WINDOW_MS:
        raise Invalid.field("from", "the window may span at most 5 years")
    if interval is not None:
        n = queries.bucket_count(start, end, interval)
        if n > queries.MAX_BUCKETS:
            raise Invalid.field(
                "interval",
                f"{n} {interval} buckets in this window (max {queries.MAX_BUCKETS});"
                " choose a coarser interval or a shorter window",
            )
    return queries.Filters(
        start_ms=start,
        end_ms=end,
        category=_label(params, "category"),
        channel=_label(params, "channel"),
        events=event_list(params),
    )
