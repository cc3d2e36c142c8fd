"""PUT/GET/DELETE /api/users/{id}: validation, merge semantics, real erasure."""

from __future__ import annotations

import pytest

from tests.conftest import Hub

PROFILE = {
    "email": "alice@example.com",
    "phone": "+14155550100",
    "timezone": "Europe/Berlin",
    "locale": "de-DE",
    "webhook_url": "https://example.com/hook",
    "chat_url": "json://127.0.0.1:9/chat",
}


async def test_put_get_and_merge(hub: Hub) -> None:
    headers = await hub.key("notify")
    r = await hub.client.put("/api/users/alice", json=PROFILE, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "alice@example.com" and r.json()["email_opt_out"] is False
    # fields left out are kept, null clears
    r = await hub.client.put(
        "/api/users/alice", json={"locale": "en", "phone": None}, headers=headers
    )
    body = r.json()
    assert body["locale"] == "en" and body["phone"] is None
    assert body["timezone"] == "Europe/Berlin" and body["email"] == "alice@example.com"
    got = (await hub.client.get("/api/users/alice", headers=headers)).json()
    assert got == body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "a<b>@example.com"),
        ("phone", "4155550100"),
        ("phone", "+0123"),
        ("timezone", "Mars/Olympus"),
        ("timezone", "../../etc/passwd"),
        ("locale", "english please"),
        ("webhook_url", "ftp://example.com"),
        ("chat_url", "not a url"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(hub: Hub, field: str, value: str) -> None:
    headers = await hub.key("notify")
    r = await hub.client.put("/api/users/bob", json={field: value}, headers=headers)
    assert r.status_code == 422
    assert field in r.json()["error"]["fields"]
    assert (await hub.client.get("/api/users/bob", headers=headers)).status_code == 404


async def test_unknown_field_and_auth(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    r = await hub.client.put("/api/users/a", json={"email": "a@b.co"})
    assert r.status_code == 401
    r = await hub.client.put("/api/users/a", json={"email": "a@b.co"}, headers=hub.user("a"))
    assert r.status_code == 403
    headers = await hub.key("activity")
    assert (await hub.client.get("/api/users/a", headers=headers)).status_code == 403
    headers = await hub.key("notify")
    r = await hub.client.put("/api/users/a", json={"shoe_size": 42}, headers=headers)
    assert r.status_code == 422 and "shoe_size" in r.json()["error"]["fields"]
    assert (await hub.client.get("/api/users/nobody", headers=headers)).status_code == 404
    assert (await hub.client.delete("/api/users/nobody", headers=headers)).status_code == 404


async def test_delete_erases_the_user_everywhere_but_others_stay(hub: Hub) -> None:
    headers = await hub.key("notify")
    for user in ("alice", "bob"):
        await hub.client.put(f"/api/users/{user}", json=PROFILE, headers=headers)
        await hub.send(user, title="hi")
        r = await hub.client.put(
            "/api/notifications/preferences",
            json=[{"category": "general", "frequency": "daily"}],
            headers=hub.user(user),
        )
        assert r.status_code == 200, r.text
    # a table another part adds later is found from the schema
    await hub.db.execute("CREATE TABLE extra_things (user_id TEXT, v INTEGER)")
    await hub.db.execute("INSERT INTO extra_things VALUES ('alice', 1), ('bob', 2)")
    r = await hub.client.delete("/api/users/alice", headers=headers)
    assert r.status_code == 200, r.text
    removed = r.json()["removed"]
    for table in ("user_profiles", "notifications", "notification_preferences", "deliveries"):
        assert removed[table] >= 1, table
    assert removed["extra_things"] == 1
    for table in ("user_profiles", "notifications", "notification_preferences", "deliveries"):
        n = await hub.db.fetch_val(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'alice'")
        assert n == 0, table
        n = await hub.db.fetch_val(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'bob'")
        assert n >= 1, table
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM extra_things") == 1
    # the analytics history stays
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE user_id = 'alice'") >= 1
    assert (await hub.client.get("/api/users/alice", headers=headers)).status_code == 404
