"""Factories for the notification center tests."""

from __future__ import annotations

from typing import Any

import pytest

from hub.notifications import store
from tests.conftest import Hub


class Recorder:
    """Stands in for app.state.fanout to capture what is published."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def publish_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        self.messages.extend(messages)


@pytest.fixture
def live(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Capture live messages for the test; the real fan-out comes back after it."""
    rec = Recorder()
    monkeypatch.setattr(hub.state, "fanout", rec)
    return rec


async def seed(
    hub: Hub,
    user_id: str,
    n: int,
    *,
    category: str = "general",
    title: str = "Note {i}",
    body: str = "body {i}",
    link: str | None = None,
    start: int = 1_700_000_000_000,
    step: int = 60_000,
) -> list[int]:
    """Insert `n` notifications for `user_id` directly, oldest first; returns ids."""
    ids: list[int] = []
    async with hub.db.transaction():
        for i in range(n):
            rows = await store.insert_notifications(
                hub.db,
                [user_id],
                category=category,
                title=title.format(i=i),
                body=body.format(i=i),
                link=link,
                data=None,
                priority="normal",
                api_key_id=None,
                created_at=start + i * step,
            )
            ids.append(rows[0]["id"])
    return ids


def ids_of(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]
