"""Demo activities: varied, spread over the month, added once."""

from __future__ import annotations

from hub.activity import demo
from tests.conftest import Hub


async def test_demo_seed_adds_a_month_of_history_once(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    assert await demo.seed(hub.db, ("alice", "bob"), per_user=30) == 60
    assert await demo.seed(hub.db, ("alice", "bob"), per_user=30) == 0
    page = (await hub.client.get("/api/activities", headers=hub.user("alice"))).json()
    assert page["total"] == 30
    summary = (
        await hub.client.get("/api/activities/summary/overview", headers=hub.user("alice"))
    ).json()
    assert summary["last_30_days"]["total"] == 30 and summary["last_7_days"]["total"] < 30
    assert len(summary["all_time"]["by_type"]) >= 4
