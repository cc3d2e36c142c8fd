"""Preference endpoints: effective values, all-or-nothing updates, templates, defaults."""

from __future__ import annotations

import pytest

from tests.conftest import Hub

URL = "/api/notifications/preferences"


def by_category(body: dict) -> dict:
    return {p["category"]: p for p in body["preferences"]}


async def test_get_shows_builtin_defaults_for_received_categories(hub: Hub) -> None:
    await hub.send("alice", category="billing")
    r = await hub.client.get(URL, headers=hub.user("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "UTC" and body["email_opt_out"] is False
    prefs = by_category(body)
    assert set(prefs) == {"*", "billing"}
    assert prefs["billing"]["source"] == "builtin"
    assert prefs["billing"]["delivery_methods"] == ["in_app", "email", "push"]
    assert prefs["billing"]["frequency"] == "instant"
    assert "sms" in body["channels"] and "weekly" in body["frequencies"]


async def test_put_updates_merge_and_timestamps(hub: Hub) -> None:
    await hub.send("alice", category="billing")
    r = await hub.client.put(
        URL,
        json={
            "preferences": [
                {
                    "category": "billing",
                    "delivery_methods": ["email", "in_app", "email"],
                    "quiet_hours_start": "22:00",
                    "quiet_hours_end": "07:00",
                },
            ],
            "timezone": "America/New_York",
        },
        headers=hub.user("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    billing = by_category(body)["billing"]
    assert billing["delivery_methods"] == ["in_app", "email"]
    assert billing["quiet_hours_start"] == "22:00" and billing["source"] == "user"
    assert billing["created_at"] and billing["updated_at"]
    assert body["timezone"] == "America/New_York"
    # a second update changes only what it names
    r = await hub.client.put(
        URL, json=[{"category": "billing", "frequency": "daily"}], headers=hub.user("alice")
    )
    billing = by_category(r.json())["billing"]
    assert billing["frequency"] == "daily" and billing["quiet_hours_end"] == "07:00"
    assert billing["delivery_methods"] == ["in_app", "email"]
    # another user sees none of it
    other = (await hub.client.get(URL, headers=hub.user("bob"))).json()
    assert "billing" not in by_category(other)


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"category": "nope"}, "preferences.1.category"),
        ({"category": "billing", "delivery_methods": ["fax"]}, "preferences.1.delivery_methods"),
        ({"category": "billing", "frequency": "hourly"}, "preferences.1.frequency"),
        (
            {"category": "billing", "quiet_hours_start": "25:00", "quiet_hours_end": "07:00"},
            "preferences.1.quiet_hours_start",
        ),
        ({"category": "billing", "quiet_hours_start": "22:00"}, "preferences.1.quiet_hours_end"),
        ({"category": "billing", "colour": "red"}, "preferences.1.colour"),
    ],
)
async def test_put_is_all_or_nothing(hub: Hub, update: dict, field: str) -> None:
    await hub.send("alice", category="billing")
    good = {"category": "billing", "frequency": "weekly"}
    r = await hub.client.put(URL, json=[good, update], headers=hub.user("alice"))
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"], r.json()
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notification_preferences") == 0


async def test_put_bad_timezone_and_body(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    r = await hub.client.put(URL, json={"timezone": "Nowhere/Land"}, headers=hub.user("a"))
    assert r.status_code == 422 and "timezone" in r.json()["error"]["fields"]
    r = await hub.client.put(URL, content=b"{", headers=hub.user("a"))
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    assert (await hub.client.get(URL)).status_code == 401
    key = await hub.key("admin")
    assert (await hub.client.get(URL, headers=key)).status_code == 403


async def test_reset_returns_to_defaults(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    await hub.send("alice", category="billing")
    await hub.client.put(URL, json=[{"category": "*", "enabled": False}], headers=hub.user("alice"))
    body = (await hub.client.get(URL, headers=hub.user("alice"))).json()
    assert by_category(body)["billing"]["source"] == "user_default"
    assert by_category(body)["billing"]["enabled"] is False
    r = await hub.client.post(f"{URL}/reset", headers=hub.user("alice"))
    assert r.status_code == 200
    assert by_category(r.json())["billing"]["enabled"] is True


async def test_defaults_admin_only_and_used_for_users(hub: Hub) -> None:
    admin = await hub.key("admin")
    r = await hub.client.post(
        f"{URL}/defaults",
        json=[
            {"category": "security", "delivery_methods": ["in_app", "email"], "critical": True},
            {"category": "*", "delivery_methods": ["in_app"]},
        ],
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert {d["category"] for d in r.json()["defaults"]} == {"*", "security"}
    notify = await hub.key("notify")
    r = await hub.client.post(f"{URL}/defaults", json=[], headers=notify)
    assert r.status_code == 403
    assert (await hub.client.get(f"{URL}/defaults", headers=hub.user("a"))).status_code == 403
    r = await hub.client.post(
        f"{URL}/defaults",
        json={"defaults": [{"category": "x", "frequency": "sometimes"}]},
        headers=admin,
    )
    assert r.status_code == 422 and "defaults.0.frequency" in r.json()["error"]["fields"]
    r = await hub.client.post(
        f"{URL}/defaults", json=[{"category": "x", "quiet_hours_end": "07:00"}], headers=admin
    )
    assert r.status_code == 422 and "defaults.0.quiet_hours_start" in r.json()["error"]["fields"]
    r = await hub.client.post(f"{URL}/defaults", json={"x": 1}, headers=admin)
    assert r.status_code == 422
    # the user sees admin defaults, security is settable though never received
    body = (await hub.client.get(URL, headers=hub.user("carol"))).json()
    prefs = by_category(body)
    assert prefs["security"]["critical"] is True and prefs["security"]["source"] == "default"
    assert prefs["*"]["delivery_methods"] == ["in_app"]
    r = await hub.client.put(
        URL,
        json=[{"category": "security", "delivery_methods": ["in_app"]}],
        headers=hub.user("carol"),
    )
    assert r.status_code == 200
    sec = by_category(r.json())["security"]
    assert sec["critical"] is True and sec["delivery_methods"] == ["in_app"]
    got = (await hub.client.get(f"{URL}/defaults", headers=admin)).json()["defaults"]
    assert [d["category"] for d in got] == ["*", "security"]


async def test_templates_apply_through_put(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    admin = await hub.key("admin")
    await hub.client.post(
        f"{URL}/defaults", json=[{"category": "security", "critical": True}], headers=admin
    )
    await hub.send("alice", category="billing")
    await hub.client.put(
        URL, json=[{"category": "billing", "enabled": False}], headers=hub.user("alice")
    )
    r = await hub.client.get(f"{URL}/templates", headers=hub.user("alice"))
    assert r.status_code == 200
    tmpl = {t["id"]: t for t in r.json()["templates"]}
    assert {"everything", "important_only", "daily_digest"} <= set(tmpl)
    important = tmpl["important_only"]["body"]["preferences"]
    assert {
        "category": "security",
        "enabled": True,
        "delivery_methods": ["in_app", "email", "push"],
    } in important
    r = await hub.client.put(URL, json=tmpl["daily_digest"]["body"], headers=hub.user("alice"))
    assert r.status_code == 200, r.text
    prefs = by_category(r.json())
    # replace=true dropped the billing override
    assert prefs["billing"]["source"] == "user_default"
    assert prefs["billing"]["frequency"] == "daily" and prefs["billing"]["enabled"] is True


async def test_changes_are_recorded_in_the_activity_feed(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    await hub.send("alice", category="billing")
    r = await hub.client.put(
        URL, json=[{"category": "billing", "frequency": "daily"}], headers=hub.user("alice")
    )
    assert r.status_code == 200
    await hub.client.post(f"{URL}/reset", headers=hub.user("alice"))
    await hub.client.put(
        "/api/notifications/email/preferences",
        json={"digest_hour": 7},
        headers=hub.user("alice"),
    )
    feed = (await hub.client.get("/api/activities", headers=hub.user("alice"))).json()
    items = feed.get("activities") or feed.get("items") or []
    kinds = [(a["activity_type"], a["resource_type"]) for a in items]
    assert kinds.count(("settings", "notification_preferences")) == 2
    assert ("settings", "email_settings") in kinds
    assert (await hub.client.get("/api/activities", headers=hub.user("bob"))).json() != feed


@pytest.mark.parametrize("replace", [False, True])
async def test_put_answers_what_get_then_shows(hub: Hub, replace: bool) -> None:
    alice = hub.user("alice")
    await hub.send("alice", category="billing")
    await hub.send("alice", category="orders")
    await hub.client.put(URL, json=[{"category": "orders", "frequency": "daily"}], headers=alice)
    # "orders" is now known only from alice's own row
    await hub.db.execute("DELETE FROM notifications WHERE category = 'orders'")
    r = await hub.client.put(
        URL,
        json={
            "preferences": [{"category": "billing", "enabled": False}],
            "timezone": "Europe/Paris",
            "replace": replace,
        },
        headers=alice,
    )
    assert r.status_code == 200, r.text
    put = r.json()
    assert put == (await hub.client.get(URL, headers=alice)).json()
    prefs = by_category(put)
    assert put["timezone"] == "Europe/Paris" and prefs["billing"]["enabled"] is False
    # replace dropped the only thing that made "orders" known
    assert ("orders" in prefs) is not replace
