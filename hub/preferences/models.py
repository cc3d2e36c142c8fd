"""Preference updates and admin defaults as the API takes them, and their JSON shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from hub.db import ms_to_iso
from hub.delivery.base import CHANNELS
from hub.notifications.models import CATEGORY_RE
from hub.preferences.routing import FREQUENCIES, Preference, parse_hhmm
from hub.users.models import check_timezone

ANY_CATEGORY = "*"


def check_category(value: str) -> str:
    if value != ANY_CATEGORY and not CATEGORY_RE.match(value):
        raise ValueError("a category name (letters, digits, _ . : -) or '*'")
    return value


def check_methods(value: list[str]) -> list[str]:
    unknown = [m for m in value if m not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(CHANNELS)}")
    return [c for c in CHANNELS if c in value]  # canonical order, no duplicates


def check_time(value: str | None) -> str | None:
    if value is None:
        return None
    parse_hhmm(value)
    return value


class PreferenceUpdate(BaseModel):
    """One category's change; fields left out keep their current effective value."""

    model_config = ConfigDict(extra="forbid")

    category: str
    enabled: bool | None = None
    delivery_methods: list[str] | None = None
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    frequency: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        return check_category(v)

    @field_validator("delivery_methods")
    @classmethod
    def _methods(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else check_methods(v)

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        return check_time(v)

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, v: str | None) -> str | None:
        if v is not None and v not in FREQUENCIES:
            raise ValueError(f"choose from {', '.join(FREQUENCIES)}")
        return v

    def quiet_hours_problem(self) -> tuple[str, str] | None:
        """(field, message) when only one end of the quiet hours is given."""
        given = self.model_fields_set
        start_set, end_set = "quiet_hours_start" in given, "quiet_hours_end" in given
        if start_set != end_set:
            missing = "quiet_hours_end" if start_set else "quiet_hours_start"
            return missing, "set quiet_hours_start and quiet_hours_end together"
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            missing = "quiet_hours_end" if self.quiet_hours_end is None else "quiet_hours_start"
            return missing, "both times or both null"
        return None

    def apply(self, current: Preference) -> Preference:
        given = self.model_fields_set
        return Preference(
            enabled=current.enabled if self.enabled is None else self.enabled,
            delivery_methods=(
                current.delivery_methods
                if self.delivery_methods is None
                else tuple(self.delivery_methods)
            ),
            quiet_hours_start=(
                self.quiet_hours_start
                if "quiet_hours_start" in given
                else current.quiet_hours_start
            ),
            quiet_hours_end=(
                self.quiet_hours_end if "quiet_hours_end" in given else current.quiet_hours_end
            ),
            frequency=current.frequency if self.frequency is None else self.frequency,
            critical=current.critical,
        )


class PreferencesPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: list[PreferenceUpdate] = []
    timezone: str | None = None
    # drop the user's existing rows first (applying a template)
    replace: bool = False

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)


class DefaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    enabled: bool = True
    delivery_methods: list[str] = list(Preference().delivery_methods)
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    frequency: str = "instant"
    critical: bool = False

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        return check_category(v)

    @field_validator("delivery_methods")
    @classmethod
    def _methods(cls, v: list[str]) -> list[str]:
        return check_methods(v)

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        return check_time(v)

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, v: str) -> str:
        if v not in FREQUENCIES:
            raise ValueError(f"choose from {', '.join(FREQUENCIES)}")
        return v

    def quiet_hours_problem(self) -> tuple[str, str] | None:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            missing = "quiet_hours_end" if self.quiet_hours_end is None else "quiet_hours_start"
            return missing, "both times or both null"
        return None

    def preference(self) -> Preference:
        return Preference(
            enabled=self.enabled,
            delivery_methods=tuple(self.delivery_methods),
            quiet_hours_start=self.quiet_hours_start,
            quiet_hours_end=self.quiet_hours_end,
            frequency=self.frequency,
            critical=self.critical,
        )


def preference_json(
    category: str, pref: Preference, source: str, row: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "category": category,
        "notification_type": category,
        "enabled": pref.enabled,
        "delivery_methods": list(pref.delivery_methods),
        "quiet_hours_start": pref.quiet_hours_start,
        "quiet_hours_end": pref.quiet_hours_end,
        "frequency": pref.frequency,
        "critical": pref.critical,
        "source": source,  # user | user_default | default | builtin
        "created_at": ms_to_iso(row["created_at"]) if row else None,
        "updated_at": ms_to_iso(row["updated_at"]) if row else None,
    }
