"""Dashboard routes: the data endpoint on real chDB, access rules, plotly.js and its CSS."""

from __future__ import annotations

from tests.conftest import Hub


async def _seed(hub: Hub) -> dict[str, str]:
    for i in range(3):
        await hub.send("alice", category="billing", title=f"Bill {i}")
    await hub.send("bob", category="social", title="Hi")
    bob = hub.user("bob")
    items = (await hub.client.get("/api/notifications/center", headers=bob)).json()["items"]
    r = await hub.client.post(f"/api/notifications/{items[0]['id']}/read", headers=bob)
    assert r.status_code == 200, r.text
    await hub.state.analytics.ingester.drain()
    return await hub.key("analytics")


async def test_data_has_kpis_and_every_chart_from_real_events(analytics_hub: Hub) -> None:
    key = await _seed(analytics_hub)
    r = await analytics_hub.client.get("/api/dashboards/data", headers=key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["interval"] == "day"  # the default window is 7 days
    charts = {c["id"]: c for c in body["charts"]}
    assert set(charts) == {"funnel", "timeline", "by_category", "by_channel", "latency", "heatmap"}
    funnel = {row[0]: row[1] for row in charts["funnel"]["rows"]}
    assert funnel["created"] == 4 and funnel["read"] == 1
    by_cat = {row[0]: row[1] for row in charts["by_category"]["rows"]}
    assert by_cat == {"billing": 3, "social": 1}
    assert sum(sum(r[1:]) for r in charts["heatmap"]["rows"]) == 1  # the one read
    assert body["categories"] == ["billing", "social"]
    assert {k["id"] for k in body["kpis"]} >= {"sent", "read", "ctr", "latency"}
    assert r.headers["cache-control"] == "no-store"


async def test_filters_narrow_the_data_and_bad_ones_name_the_field(analytics_hub: Hub) -> None:
    key = await _seed(analytics_hub)
    r = await analytics_hub.client.get(
        "/api/dashboards/data", params={"category": "social", "interval": "hour"}, headers=key
    )
    assert r.status_code == 200, r.text
    charts = {c["id"]: c for c in r.json()["charts"]}
    assert [row[0] for row in charts["by_category"]["rows"]] == ["social"]
    assert r.json()["interval"] == "hour"
    for params, field in (({"from": "yesterday"}, "from"), ({"interval": "fortnight"}, "interval")):
        r = await analytics_hub.client.get("/api/dashboards/data", params=params, headers=key)
        assert r.status_code == 422, r.text
        assert field in r.json()["error"]["fields"]


async def test_data_needs_the_analytics_scope(analytics_hub: Hub) -> None:
    r = await analytics_hub.client.get("/api/dashboards/data")
    assert r.status_code == 401
    r = await analytics_hub.client.get("/api/dashboards/data", headers=analytics_hub.user("alice"))
    assert r.status_code == 403
    r = await analytics_hub.client.get(
        "/api/dashboards/data", headers=await analytics_hub.key("notify")
    )
    assert r.status_code == 403
    r = await analytics_hub.client.get(
        "/api/dashboards/data", headers=await analytics_hub.key("admin")
    )
    assert r.status_code == 200


async def test_data_without_analytics_is_a_clear_503(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/api/dashboards/data", headers=await sqlite_hub.key("admin"))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "analytics_disabled"


async def test_dashboards_page_access(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/dashboards")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboards"
    r = await sqlite_hub.client.get("/dashboards", headers=sqlite_hub.user("alice"))
    assert r.status_code == 403 and "analytics scope" in r.text
    r = await sqlite_hub.client.get("/dashboards", headers=await sqlite_hub.key("analytics"))
    assert r.status_code == 200
    assert '<link rel="preload" href="/vendor/plotly.min.js" as="script">' in r.text
    assert "style-src-attr 'unsafe-inline'" in r.headers["content-security-policy"]


async def test_plotly_is_served_from_the_package_with_its_css(sqlite_hub: Hub) -> None:
    r = await sqlite_hub.client.get("/vendor/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) > 1_000_000 and b"plotly" in r.content[:2000].lower()
    css = await sqlite_hub.client.get("/vendor/plotly.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".js-plotly-plot .plotly .modebar" in css.text
    assert "X" not in css.text.split("{")[0]


async def test_a_failing_store_is_a_503_not_a_500(analytics_hub: Hub, monkeypatch) -> None:
    from analytics import queries
    from analytics.sink import SinkError

    async def broken(*args, **kwargs):
        raise SinkError("connection refused")

    monkeypatch.setattr(queries, "run", broken)
    r = await analytics_hub.client.get(
        "/api/dashboards/data", headers=await analytics_hub.key("analytics")
    )
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "analytics_unavailable"
    assert "connection refused" in r.json()["error"]["message"]


async def test_the_interval_fits_the_window_unless_one_is_given(analytics_hub: Hub) -> None:
    key = await analytics_hub.key("analytics")

    async def data(**params: str):
        return await analytics_hub.client.get("/api/dashboards/data", params=params, headers=key)

    four_years = {"from": "2022-01-01", "to": "2026-01-01"}
    r = await data(**four_years)
    assert r.status_code == 200, r.text
    assert r.json()["interval"] == "week"
    r = await data(**four_years, interval="minute")
    assert r.status_code == 422 and "interval" in r.json()["error"]["fields"]
    # a given minute interval without `from` looks back one hour, not 7 days
    r = await data(to="2026-01-01T12:00:00Z", interval="minute")
    assert r.status_code == 200, r.text
    assert r.json()["window"]["from"].startswith("2026-01-01T11:00")
