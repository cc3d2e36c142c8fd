"""Fixtures of the activity tests: a producer key, a poster and a live-message recorder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from hub.activity import store
from hub.activity.models import ActivityIn
from tests.conftest import Hub
from tests.hub.notifications.conftest import Recorder

Post = Callable[..., Awaitable[httpx.Response]]


async def seed(hub: Hub, user_id: str, created_at: int, **fields: Any) -> int:
    """Insert one activity directly (a payment unless `fields` say otherwise); its id."""
    values: dict[str, Any] = {
        "user_id": user_id,
        "activity_type": "payment",
        "action": "completed",
        "title": "Paid",
    }
    values.update(fields)
    async with hub.db.transaction():
        (row,) = await store.insert(hub.db, [ActivityIn(**values)], None, created_at)
    return int(row["id"])


@pytest.fixture
async def producer(hub: Hub) -> dict[str, str]:
    return await hub.key("activity", name="producer")


@pytest.fixture
def post(hub: Hub, producer: dict[str, str]) -> Post:
    async def _post(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await hub.client.post(
            "/api/activities", json=body, headers={**producer, **(headers or {})}
        )

    return _post


def activity(user_id: str = "alice", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": user_id,
        "activity_type": "payment",
        "action": "completed",
        "title": "Paid invoice",
    }
    body.update(fields)
    return body


@pytest.fixture
def make() -> Callable[..., dict[str, Any]]:
    return activity


@pytest.fixture
def fanout(hub: Hub) -> Iterator[Recorder]:
    """Puts a recorder in place of the app's fan-out for this test, then restores it."""
    original = getattr(hub.state, "fanout", None)
    recorder = Recorder()
    hub.state.fanout = recorder
    yield recorder
    hub.state.fanout = original
