"""activity.created through the real fan-out to a real WebSocket (memory:// and Redis)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, redis_or_skip
from tests.hub.realtime.conftest import next_of, nothing_more, serve


@pytest.mark.parametrize("broadcast", ["memory", "redis"])
async def test_new_activities_reach_only_their_users_socket(
    broadcast: str, sqlite_url: str, tmp_path: Path
) -> None:
    url = "memory://" if broadcast == "memory" else await redis_or_skip()
    settings = make_settings(sqlite_url, tmp_path, broadcast_url=url, ws_ping_interval=60.0)
    async with serve(settings) as live:
        alice = await live.ws("alice")
        await next_of(alice, "ready")
        bob = await live.ws("bob")
        await next_of(bob, "ready")
        producer = await live.hub.key("activity")
        async with httpx.AsyncClient(base_url=live.base) as client:
            r = await client.post(
                "/api/activities",
                json={
                    "user_id": "alice",
                    "activity_type": "payment",
                    "action": "completed",
                    "title": "Paid invoice 9",
                },
                headers=producer,
            )
            assert r.status_code == 201, r.text
            msg = await next_of(alice, "activity.created")
            assert msg["activity"] == r.json()["activity"]
            # signing in is tracked and pushed too, with the caller's address
            r = await client.post(
                "/api/auth/session",
                json={"token": live.hub.token("alice")},
                headers={"User-Agent": "live-test"},
            )
            assert r.status_code == 200
            login = (await next_of(alice, "activity.created"))["activity"]
            assert login["activity_type"] == "login" and login["ip_address"] == "127.0.0.1"
            assert login["user_agent"] == "live-test"
        await nothing_more(bob)
