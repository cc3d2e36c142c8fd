"""Analytics API: auth, parameter checking, disabled/unavailable store, live publish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.db import ms_to_iso, now_ms
from tests.analytics.conftest import get
from tests.conftest import Hub, make_settings, start_hub

A = "/api/notifications/analytics"
ENDPOINTS = ["summary", "by-type", "by-method", "timeline", "funnel", "latency", "heatmap"]


@pytest.fixture
async def one(sqlite_url: str, analytics_url: str, tmp_path: Path) -> Any:
    """SQLite × store: enough for tests where the primary database does not matter."""
    async for h in start_hub(make_settings(sqlite_url, tmp_path, analytics_url=analytics_url)):
        yield h


async def test_every_endpoint_needs_analytics_or_admin(one: Hub) -> None:
    notify = await one.key("notify")
    analyst = await one.key("analytics")
    admin = await one.key("admin")
    for name in [*ENDPOINTS]:
        r = await one.client.get(f"{A}/{name}")
        assert r.status_code == 401, name
        r = await one.client.get(f"{A}/{name}", headers=notify)
        assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope"
        r = await one.client.get(f"{A}/{name}", headers=one.user("alice"))
        assert r.status_code == 403
        for h in (analyst, admin):
            r = await one.client.get(f"{A}/{name}", headers=h)
            assert r.status_code == 200, r.text
    assert (await one.client.get("/api/analytics/status")).status_code == 401
    assert (await one.client.get("/api/analytics/status", headers=notify)).status_code == 403


async def test_empty_store_answers_zeros(one: Hub) -> None:
    h = await one.key("analytics")
    s = await get(one, f"{A}/summary", h)
    assert s["created"] == 0 and s["delivery_rate"] is None
    assert s["delivery_latency_ms"] == {"p50": None, "p95": None}
    f = await get(one, f"{A}/funnel", h)
    assert [x["notifications"] for x in f["stages"]] == [0, 0, 0, 0]
    t = await get(one, f"{A}/timeline", h, interval="day")
    assert len(t["buckets"]) in (7, 8) and set(t["series"]["created"]) == {0}
    m = await get(one, f"{A}/timeline", h, interval="minute")
    assert len(m["buckets"]) in (60, 61) and m["source"] == "raw"
    assert (await get(one, f"{A}/latency", h))["channels"] == []
    assert (await get(one, f"{A}/heatmap", h))["grid"] == [[0] * 24 for _ in range(7)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-45"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"from": "2000-01-01", "to": "2026-01-01"}, "from"),
        ({"interval": "fortnight"}, "interval"),
        ({"interval": "minute", "from": "2026-01-01", "to": "2026-03-01"}, "interval"),
        ({"source": "cache"}, "source"),
        ({"category": "x" * 101}, "category"),
        ({"channel": "y" * 101}, "channel"),
        ({"events": "created,exploded"}, "events"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    one: Hub, params: dict[str, str], field: str
) -> None:
    h = await one.key("analytics")
    r = await one.client.get(f"{A}/timeline", params=params, headers=h)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]


async def test_latency_event_parameter(one: Hub) -> None:
    h = await one.key("analytics")
    r = await one.client.get(f"{A}/latency", params={"event": "nope"}, headers=h)
    assert r.status_code == 422 and "event" in r.json()["error"]["fields"]
    assert (await get(one, f"{A}/latency", h, event="sent"))["event"] == "sent"


async def test_filters_by_category_and_channel(one: Hub) -> None:
    h = await one.key("analytics")
    await one.send("alice", category="billing")
    await one.send("alice", category="social")
    await one.send("bob", category="social")
    await one.state.analytics.ingester.drain()
    w = {"from": ms_to_iso(now_ms() - 60_000), "to": ms_to_iso(now_ms() + 60_000)}
    assert (await get(one, f"{A}/summary", h, category="social", **w))["created"] == 2
    assert (await get(one, f"{A}/summary", h, channel="email", **w))["created"] == 0
    assert (await get(one, f"{A}/summary", h, channel="in_app", **w))["created"] == 3
    t = await get(one, f"{A}/timeline", h, interval="minute", events="created", **w)
    assert list(t["series"]) == ["created"] and sum(t["series"]["created"]) == 3
    hm = await get(one, f"{A}/heatmap", h, events="created", **w)
    assert sum(map(sum, hm["grid"])) == 3


async def test_disabled_analytics_is_503(sqlite_hub: Hub) -> None:
    h = await sqlite_hub.key("admin")
    r = await sqlite_hub.client.get(f"{A}/summary", headers=h)
    assert r.status_code == 503 and r.json()["error"]["code"] == "analytics_disabled"
    st = await get(sqlite_hub, "/api/analytics/status", h)
    assert st["enabled"] is False and st["backlog"] == 0
    r = await sqlite_hub.client.post("/api/admin/sql", json={"query": "SELECT 1"}, headers=h)
    assert r.status_code == 503


async def test_store_down_at_start_hub_still_works(sqlite_url: str, tmp_path: Path) -> None:
    """A ClickHouse server that does not answer: producing works, analytics says 503."""
    url = "clickhouse://default:secret@127.0.0.1:9/hub"
    settings = make_settings(sqlite_url, tmp_path, analytics_url=url)
    async for hub in start_hub(settings):
        await hub.send("alice")  # the outbox keeps the event
        h = await hub.key("analytics")
        r = await hub.client.get(f"{A}/summary", headers=h)
        assert r.status_code == 503
        body = r.json()["error"]
        assert body["code"] == "analytics_unavailable"
        assert "secret" not in r.text
        st = await get(hub, "/api/analytics/status", h)
        assert st["backlog"] == 1 and st["lag_ms"] >= 0


async def test_ingested_batches_are_published_to_admin_live(
    one: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fanout = one.state.fanout
    assert fanout is not None, "the app starts its fan-out (memory://) in every test"
    seen: list[tuple[str, dict[str, Any]]] = []
    real = fanout.publish_channel

    async def spy(channel: str, message: dict[str, Any]) -> None:
        seen.append((channel, message))
        await real(channel, message)

    monkeypatch.setattr(fanout, "publish_channel", spy)
    await one.send("alice")
    await one.send("bob")
    await one.state.analytics.ingester.drain()
    assert seen == [("admin:live", {"type": "analytics.ingested", "counts": {"created": 2}})]


async def test_one_ingester_holds_the_lease(one: Hub) -> None:
    from analytics.ingest import Ingester

    first = one.state.analytics.ingester
    other = Ingester(one.db, one.state.analytics.sink, one.settings)
    other.prepare = first.prepare
    await one.send("alice")
    assert await first.acquire_lease() is True
    assert await other.run_once() == 0  # the lease is taken: nothing sent twice
    assert await first.run_once() == 1
    await first.release_lease()
    await one.send("bob")
    assert await other.run_once() == 1


async def test_endpoints_are_in_the_openapi_document(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/openapi.json")
    paths = r.json()["paths"]
    for name in ENDPOINTS:
        assert "analytics" in paths[f"{A}/{name}"]["get"]["tags"]
    assert set(paths["/api/admin/sql"]["post"]["responses"]) >= {"200", "400", "422"}
    assert "/api/analytics/status" in paths
