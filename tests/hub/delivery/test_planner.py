"""The planner: which delivery rows a new notification gets (pure plan + enqueue)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.delivery.planner import Defaults, address_for, plan
from hub.preferences.routing import Preference
from tests.conftest import Hub
from tests.hub.delivery.conftest import profile

NOW = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
ALL = ("in_app", "email", "push", "sms", "webhook", "chat")


def note(nid: int, user: str, priority: str = "normal") -> dict:
    return {"id": nid, "user_id": user, "category": "billing", "priority": priority}


def test_plan_addresses_and_push_devices() -> None:
    profiles = {
        "a": {
            "email": "a@example.com",
            "phone": "+14155550100",
            "webhook_url": "https://a.example/hook",
        },
        "b": {"email": "b@example.com"},
    }
    prefs = {
        "a": {"*": Preference(delivery_methods=ALL)},
        "b": {"*": Preference(delivery_methods=ALL)},
    }
    rows, deferred = plan(
        [note(1, "a"), note(2, "b")],
        profiles,
        prefs,
        {},
        {"a"},
        NOW,
        Defaults(chat_url="json://chat.example/x"),
    )
    got = {(r["user_id"], r["channel"]): r["address"] for r in rows}
    assert got == {
        ("a", "email"): "a@example.com",
        ("a", "push"): None,
        ("a", "sms"): "+14155550100",
        ("a", "webhook"): "https://a.example/hook",
        ("a", "chat"): "json://chat.example/x",
        ("b", "email"): "b@example.com",
        ("b", "chat"): "json://chat.example/x",
    }
    assert {r["status"] for r in rows} == {"pending"} and deferred == []


def test_plan_quiet_hours_defer_with_events_and_critical_skips() -> None:
    profiles = {"a": {"email": "a@example.com", "timezone": "UTC"}}
    prefs = {"a": {"billing": Preference(quiet_hours_start="22:00", quiet_hours_end="07:00")}}
    rows, deferred = plan([note(1, "a")], profiles, prefs, {}, set(), NOW, Defaults())
    (row,) = rows
    assert row["status"] == "deferred" and row["reason"] == "quiet_hours"
    assert row["next_attempt_at"] == int(datetime(2026, 1, 11, 7, tzinfo=UTC).timestamp() * 1000)
    (ev,) = deferred
    assert ev.event == "deferred" and ev.channel == "email"
    assert ev.metadata == {"reason": "quiet_hours", "until": row["next_attempt_at"]}
    rows, deferred = plan([note(2, "a", "critical")], profiles, prefs, {}, set(), NOW, Defaults())
    assert rows[0]["status"] == "pending" and rows[0]["reason"] == "critical" and deferred == []


def test_override_and_user_digest_hour() -> None:
    assert address_for("email", {"email": "p@x.io"}, "o@x.io", Defaults()) == "o@x.io"
    assert address_for("push", {}, None, Defaults()) is None
    assert address_for("webhook", {}, None, Defaults(webhook_url="https://h")) == "https://h"
    profiles = {"a": {"email": "a@x.io", "digest_hour": 18}}
    prefs = {"a": {"*": Preference(frequency="daily")}}
    rows, _ = plan([note(1, "a")], profiles, prefs, {}, set(), NOW, Defaults(digest_hour=9))
    due = datetime.fromtimestamp(rows[0]["next_attempt_at"] / 1000, UTC)
    assert due == datetime(2026, 1, 11, 18, tzinfo=UTC)


async def test_enqueue_through_the_api_uses_profiles_prefs_defaults_devices(hub: Hub) -> None:
    now = 1_700_000_000_000
    await hub.db.execute(
        "INSERT INTO devices (token, user_id, platform, created_at, updated_at)"
        " VALUES ('tok-1', 'dev-user', 'android', :n, :n)",
        {"n": now},
    )
    await profile(hub, "dev-user", email="d@example.com", phone="+14155550100")
    await profile(hub, "plain", email="p@example.com")
    admin = await hub.key("admin")
    r = await hub.client.post(
        "/api/notifications/preferences/defaults",
        json=[{"category": "security", "delivery_methods": ["in_app", "email", "push", "sms"]}],
        headers=admin,
    )
    assert r.status_code == 200
    await hub.send(["dev-user", "plain", "ghost"], category="security", title="login")
    rows = await hub.db.fetch_all(
        "SELECT user_id, channel, status FROM deliveries ORDER BY user_id, channel"
    )
    assert [(r["user_id"], r["channel"]) for r in rows] == [
        ("dev-user", "email"),
        ("dev-user", "push"),
        ("dev-user", "sms"),
        ("plain", "email"),
    ]
    # a disabled category makes no rows; in_app (the notification) is still stored
    r = await hub.client.put(
        "/api/notifications/preferences",
        json=[{"category": "security", "enabled": False}],
        headers=hub.user("plain"),
    )
    assert r.status_code == 200
    sent = await hub.send("plain", category="security", title="again")
    assert sent["count"] == 1
    n = await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE user_id = 'plain'")
    assert n == 1
