"""POST/GET /api/devices and DELETE /api/devices/{token}: ownership, validation, hand-over."""

from __future__ import annotations

from tests.conftest import Hub

IOS = "a1b2c3d4" * 8
ANDROID = "fcm-token:APA91bH_example-0123456789"


async def test_register_list_and_delete_own_device(hub: Hub) -> None:
    alice = hub.user("alice")
    r = await hub.client.post(
        "/api/devices", json={"platform": "ios", "token": IOS, "app": "com.ex.app"}, headers=alice
    )
    assert r.status_code == 201, r.text
    assert r.json()["token"] == IOS and r.json()["platform"] == "ios"
    assert r.json()["app"] == "com.ex.app"
    r = await hub.client.post(
        "/api/devices", json={"platform": "android", "token": ANDROID}, headers=alice
    )
    assert r.status_code == 201
    listed = (await hub.client.get("/api/devices", headers=alice)).json()["devices"]
    assert sorted(d["token"] for d in listed) == sorted([IOS, ANDROID])
    # nobody else sees them
    assert (await hub.client.get("/api/devices", headers=hub.user("bob"))).json() == {"devices": []}
    r = await hub.client.delete(f"/api/devices/{ANDROID}", headers=alice)
    assert r.status_code == 204
    listed = (await hub.client.get("/api/devices", headers=alice)).json()["devices"]
    assert [d["token"] for d in listed] == [IOS]
    assert (await hub.client.delete(f"/api/devices/{ANDROID}", headers=alice)).status_code == 404


async def test_another_users_token_is_404_and_stays(hub: Hub) -> None:
    await hub.client.post(
        "/api/devices", json={"platform": "web", "token": ANDROID}, headers=hub.user("alice")
    )
    r = await hub.client.delete(f"/api/devices/{ANDROID}", headers=hub.user("bob"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    rows = await hub.db.fetch_all("SELECT user_id FROM devices")
    assert rows == [{"user_id": "alice"}]


async def test_reregistering_moves_token_without_duplicates(hub: Hub) -> None:
    body = {"platform": "android", "token": ANDROID}
    for _ in range(2):
        r = await hub.client.post("/api/devices", json=body, headers=hub.user("alice"))
        assert r.status_code == 201
    r = await hub.client.post(
        "/api/devices", json={**body, "app": "other"}, headers=hub.user("bob")
    )
    assert r.status_code == 201 and r.json()["app"] == "other"
    rows = await hub.db.fetch_all("SELECT token, user_id, app FROM devices")
    assert rows == [{"token": ANDROID, "user_id": "bob", "app": "other"}]
    assert (await hub.client.get("/api/devices", headers=hub.user("alice"))).json()["devices"] == []


async def test_validation_names_the_field_and_saves_nothing(hub: Hub) -> None:
    alice = hub.user("alice")
    cases = [
        ({"platform": "blackberry", "token": ANDROID}, "platform"),
        ({"platform": "android"}, "token"),
        ({"platform": "android", "token": "short"}, "token"),
        ({"platform": "android", "token": "has spaces in it"}, "token"),
        ({"platform": "ios", "token": "not-hex-" * 8}, "token"),
        ({"platform": "ios", "token": "abc" * 11}, "token"),  # odd length
        ({"platform": "web", "token": ANDROID, "app": "x" * 201}, "app"),
        ({"platform": "web", "token": ANDROID, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        r = await hub.client.post("/api/devices", json=body, headers=alice)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["error"]["fields"], (body, r.json())
    r = await hub.client.post("/api/devices", content=b"{nope", headers=alice)
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM devices") == 0


async def test_authentication_required_everywhere(hub: Hub) -> None:
    assert (await hub.client.get("/api/devices")).status_code == 401
    body = {"platform": "web", "token": ANDROID}
    assert (await hub.client.post("/api/devices", json=body)).status_code == 401
    assert (await hub.client.delete(f"/api/devices/{ANDROID}")).status_code == 401
    # an API key is not an end user
    key = await hub.key("notify")
    assert (await hub.client.get("/api/devices", headers=key)).status_code == 403


async def test_registration_is_in_the_activity_feed(hub: Hub) -> None:
    alice = hub.user("alice")
    r = await hub.client.post(
        "/api/devices", json={"platform": "android", "token": ANDROID}, headers=alice
    )
    assert r.status_code == 201
    items = (await hub.client.get("/api/activities", headers=alice)).json()["items"]
    [item] = [i for i in items if i["title"] == "Device registered"]
    assert item["activity_type"] == "settings" and item["action"] == "created"
    assert item["resource_type"] == "device" and item["metadata"] == {"platform": "android"}
    assert ANDROID not in str(item)  # the token itself stays out of the feed


async def test_a_failing_activity_record_does_not_undo_registration(hub: Hub, monkeypatch) -> None:
    import hub.devices.api as api

    async def broken(*args, **kwargs):
        raise RuntimeError("activity store down")

    monkeypatch.setattr(api, "track", broken)
    r = await hub.client.post(
        "/api/devices", json={"platform": "web", "token": ANDROID}, headers=hub.user("alice")
    )
    assert r.status_code == 201
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM devices") == 1


async def test_only_the_newest_devices_are_kept(hub: Hub) -> None:
    from hub.devices.store import MAX_PER_USER

    alice = hub.user("alice")
    tokens = [f"android:tok-{i:03d}" for i in range(MAX_PER_USER + 3)]
    for token in tokens:
        r = await hub.client.post(
            "/api/devices", json={"platform": "android", "token": token}, headers=alice
        )
        assert r.status_code == 201
    listed = {
        d["token"] for d in (await hub.client.get("/api/devices", headers=alice)).json()["devices"]
    }
    assert len(listed) == MAX_PER_USER
    assert tokens[-1] in listed  # the one just registered always stays
    assert tokens[0] not in listed


async def test_delete_with_a_percent_encoded_token(hub: Hub) -> None:
    # the web page encodes tokens with encodeURIComponent (":" → "%3A")
    alice = hub.user("alice")
    await hub.client.post("/api/devices", json={"platform": "web", "token": ANDROID}, headers=alice)
    encoded = ANDROID.replace(":", "%3A")
    assert (await hub.client.delete(f"/api/devices/{encoded}", headers=alice)).status_code == 204
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM devices") == 0
