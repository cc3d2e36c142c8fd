"""Ready-made preference sets. Each is a body for PUT /api/notifications/preferences."""

from __future__ import annotations

from typing import Any

from hub.delivery.base import CHANNELS
from hub.preferences.routing import DEFAULT_METHODS, Preference


def _all(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "category": "*",
        "enabled": True,
        "delivery_methods": list(DEFAULT_METHODS),
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "frequency": "instant",
    }
    row.update(fields)
    return row


def templates(defaults: dict[str, Preference]) -> list[dict[str, Any]]:
    """The templates, given the admin defaults (to know which categories are critical)."""
    critical = sorted(c for c, p in defaults.items() if p.critical and c != "*")
    important = [_all(delivery_methods=["in_app"])] + [
        {"category": c, "enabled": True, "delivery_methods": ["in_app", "email", "push"]}
        for c in critical
    ]
    sets = [
        (
            "everything",
            "Everything",
            "Every channel, as it happens",
            [_all(delivery_methods=list(CHANNELS))],
        ),
        (
            "important_only",
            "Important only",
            "Only critical categories reach you outside the app",
            important,
        ),
        (
            "daily_digest",
            "Daily digest",
            "One email a day; nothing else interrupts you",
            [_all(delivery_methods=["in_app", "email"], frequency="daily")],
        ),
        (
            "weekly_digest",
            "Weekly digest",
            "One email a week (Monday)",
            [_all(delivery_methods=["in_app", "email"], frequency="weekly")],
        ),
        (
            "quiet_nights",
            "Quiet nights",
            "Everything, but nothing between 22:00 and 07:00",
            [_all(quiet_hours_start="22:00", quiet_hours_end="07:00")],
        ),
        (
            "in_app_only",
            "In-app only",
            "Only the notification center",
            [_all(delivery_methods=["in_app"])],
        ),
    ]
    return [
        {
            "id": tid,
            "name": name,
            "description": text,
            "body": {"replace": True, "preferences": prefs},
        }
        for tid, name, text, prefs in sets
    ]
