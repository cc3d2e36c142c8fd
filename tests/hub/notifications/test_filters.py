"""The date-range bound parser the notification center and the activity feed share."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.db import iso_to_ms
from hub.notifications.filters import DAY_MS, FilterQuery, iso_bound_ms

MIDNIGHT = iso_to_ms("2026-01-31T00:00:00Z")


@pytest.mark.parametrize("value", ["2026-01-31", " 2026-01-31 ", "20260131"])
def test_a_bare_date_ends_a_range_at_the_next_midnight(value: str) -> None:
    assert iso_bound_ms(value, end=False) == MIDNIGHT
    assert iso_bound_ms(value, end=True) == MIDNIGHT + DAY_MS


@pytest.mark.parametrize(
    "value", ["2026-01-31T00:00:00Z", "2026-01-31T01:00:00+01:00", "2026-01-31T00:00"]
)
def test_a_datetime_is_taken_as_it_is(value: str) -> None:
    assert iso_bound_ms(value, end=True) == MIDNIGHT == iso_bound_ms(value, end=False)


def test_a_short_datetime_is_not_a_bare_date() -> None:
    week = iso_to_ms("2026W05")
    assert iso_bound_ms("2026W05T10", end=True) == week + 10 * 3600 * 1000


@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "2026-01", ""])
def test_anything_else_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        iso_bound_ms(value, end=True)


def test_the_center_filters_keep_their_message() -> None:
    with pytest.raises(ValidationError) as caught:
        FilterQuery.model_validate({"date_to": "yesterday"})
    assert caught.value.errors()[0]["msg"] == (
        "Value error, an ISO 8601 date or datetime, e.g. 2026-01-31"
    )
    assert FilterQuery.model_validate({"date_to": "20260131"}).date_to == MIDNIGHT + DAY_MS
