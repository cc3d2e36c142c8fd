"""The dashboards' answer cache: reused while nothing is ingested, renewed when something is."""

from __future__ import annotations

import asyncio

import pytest

from dashboards.api import open_end
from dashboards.cache import ResultCache
from hub.db import iso_to_ms, ms_to_iso, now_ms
from tests.conftest import Hub


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire_and_the_oldest_go_first() -> None:
    clock = Clock()
    cache = ResultCache(ttl=10, max_entries=2, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    clock.now = 10
    assert cache.get("a") is None
    off = ResultCache(ttl=0)
    off.put("a", 1)
    assert off.get("a") is None


async def test_concurrent_misses_share_one_computation_and_failures_are_not_kept() -> None:
    cache = ResultCache(ttl=60)
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "answer"

    results = await asyncio.gather(*(cache.get_or_compute("k", compute) for _ in range(5)))
    assert calls == 1
    assert [r[0] for r in results] == ["answer"] * 5
    assert sorted(r[1] for r in results) == [False, True, True, True, True]

    async def broken() -> str:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError):
        await cache.get_or_compute("x", broken)
    assert (await cache.get_or_compute("x", compute)) == ("answer", False)


def test_an_open_window_ends_at_the_next_whole_minute() -> None:
    t = iso_to_ms("2026-11-21T07:40:00Z")
    assert open_end(t) == t
    assert open_end(t + 1) == open_end(t + 59_999) == t + 60_000


# an explicit window, so that a minute boundary passing mid-test changes nothing
WINDOW = {"from": ms_to_iso(now_ms() - 3_600_000), "to": ms_to_iso(now_ms() + 600_000)}


async def _data(hub: Hub, key: dict[str, str], **params: str) -> tuple[int, str]:
    params = {**WINDOW, **params}
    r = await hub.client.get("/api/dashboards/data", params=params, headers=key)
    assert r.status_code == 200, r.text
    funnel = next(c for c in r.json()["charts"] if c["id"] == "funnel")
    created = next(row[1] for row in funnel["rows"] if row[0] == "created") if funnel["rows"] else 0
    return created, r.headers["x-hub-cache"]


async def test_the_answer_is_reused_until_new_events_are_ingested(analytics_hub: Hub) -> None:
    key = await analytics_hub.key("analytics")
    await analytics_hub.send("alice", category="billing", title="One")
    await analytics_hub.state.analytics.ingester.drain()
    assert await _data(analytics_hub, key) == (1, "miss")
    assert await _data(analytics_hub, key) == (1, "hit")
    # other filters are another question
    assert await _data(analytics_hub, key, channel="in_app") == (1, "miss")

    # written but not yet ingested: the store has not changed, neither has the answer
    await analytics_hub.send("bob", category="billing", title="Two")
    assert await _data(analytics_hub, key) == (1, "hit")
    await analytics_hub.state.analytics.ingester.drain()
    assert await _data(analytics_hub, key) == (2, "miss")
    assert await _data(analytics_hub, key) == (2, "hit")


async def test_without_to_the_window_ends_on_a_whole_minute(analytics_hub: Hub) -> None:
    before = now_ms()
    r = await analytics_hub.client.get(
        "/api/dashboards/data", headers=await analytics_hub.key("analytics")
    )
    end = iso_to_ms(r.json()["window"]["to"])
    assert end % 60_000 == 0 and before <= end <= now_ms() + 60_000
    assert iso_to_ms(r.json()["window"]["from"]) == end - 7 * 24 * 3_600_000


async def test_a_zero_ttl_turns_the_cache_off(analytics_hub: Hub) -> None:
    analytics_hub.state.settings = analytics_hub.state.settings.with_(dashboards_cache_ttl=0)
    key = await analytics_hub.key("analytics")
    assert (await _data(analytics_hub, key))[1] == "miss"
    assert (await _data(analytics_hub, key))[1] == "miss"
