"""State-change endpoints and click tracking: ownership, counts, outbox events."""

from __future__ import annotations

from tests.conftest import Hub
from tests.hub.notifications.conftest import Recorder, seed


async def _state(hub: Hub, nid: int) -> dict:
    row = await hub.db.fetch_one(
        "SELECT is_read, archived, clicked_at FROM notifications WHERE id = :id", {"id": nid}
    )
    assert row is not None
    return {k: (bool(v) if k != "clicked_at" else v) for k, v in row.items()}


async def _events(hub: Hub, kind: str) -> list[int]:
    rows = await hub.db.fetch_all(
        "SELECT notification_id FROM outbox WHERE event = :e ORDER BY notification_id",
        {"e": kind},
    )
    return [r["notification_id"] for r in rows]


async def test_read_one_and_404_for_others(hub: Hub) -> None:
    [mine] = await seed(hub, "alice", 1)
    [theirs] = await seed(hub, "bob", 1)
    h = hub.user("alice")
    r = await hub.client.post(f"/api/notifications/{mine}/read", headers=h)
    assert r.status_code == 200 and r.json()["notification"]["is_read"] is True
    # again is fine and records nothing new
    assert (await hub.client.post(f"/api/notifications/{mine}/read", headers=h)).status_code == 200
    for nid in (theirs, 999_999, 10**30):
        r = await hub.client.post(f"/api/notifications/{nid}/read", headers=h)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await _state(hub, theirs))["is_read"] is False
    assert await _events(hub, "read") == [mine]


async def test_read_all_and_bulk_read(hub: Hub) -> None:
    a = await seed(hub, "alice", 4)
    b = await seed(hub, "bob", 2)
    h = hub.user("alice")
    r = await hub.client.post(
        "/api/notifications/bulk-read", json={"ids": [a[0], a[1], b[0]]}, headers=h
    )
    assert r.json() == {"changed": 2, "ids": [a[0], a[1]]}
    r = await hub.client.post("/api/notifications/read-all", headers=h)
    assert r.json() == {"changed": 2}
    assert (await hub.client.get("/api/notifications/unread-count", headers=h)).json()["count"] == 0
    assert (await _state(hub, b[0]))["is_read"] is False
    assert (
        await hub.client.get("/api/notifications/unread-count", headers=hub.user("bob"))
    ).json()["count"] == 2


async def test_bulk_endpoints_validate_ids(hub: Hub) -> None:
    h = hub.user("alice")
    for path in ("bulk-read", "bulk-delete", "archive", "unarchive"):
        for body in ({}, {"ids": []}, {"ids": ["x"]}, {"ids": [0]}, {"ids": list(range(1, 1002))}):
            r = await hub.client.post(f"/api/notifications/{path}", json=body, headers=h)
            assert r.status_code == 422, (path, body, r.text)
            assert any(k.startswith("ids") for k in r.json()["error"]["fields"]), r.json()
        r = await hub.client.post(
            f"/api/notifications/{path}", json={"ids": [1], "x": 1}, headers=h
        )
        assert r.status_code == 422 and "x" in r.json()["error"]["fields"]


async def test_archive_unarchive(hub: Hub) -> None:
    a = await seed(hub, "alice", 3)
    [b] = await seed(hub, "bob", 1)
    h = hub.user("alice")
    r = await hub.client.post(
        "/api/notifications/archive", json={"ids": [a[0], a[1], b]}, headers=h
    )
    assert r.json() == {"changed": 2, "ids": [a[0], a[1]]}
    center = (await hub.client.get("/api/notifications/center", headers=h)).json()
    assert [i["id"] for i in center["items"]] == [a[2]]
    assert (await hub.client.get("/api/notifications/unread-count", headers=h)).json()["count"] == 1
    r = await hub.client.post("/api/notifications/unarchive", json={"ids": [a[0], b]}, headers=h)
    assert r.json() == {"changed": 1, "ids": [a[0]]}
    assert (await _state(hub, b))["archived"] is False
    assert await _events(hub, "archived") == [a[0], a[1]]
    assert await _events(hub, "unarchived") == [a[0]]


async def test_delete_one_bulk_and_all(hub: Hub) -> None:
    a = await seed(hub, "alice", 4)
    [b] = await seed(hub, "bob", 1)
    h = hub.user("alice")
    assert (await hub.client.delete(f"/api/notifications/{a[0]}", headers=h)).json() == {
        "deleted": 1
    }
    assert (await hub.client.delete(f"/api/notifications/{a[0]}", headers=h)).status_code == 404
    assert (await hub.client.delete(f"/api/notifications/{b}", headers=h)).status_code == 404
    r = await hub.client.post("/api/notifications/bulk-delete", json={"ids": [a[1], b]}, headers=h)
    assert r.json() == {"changed": 1, "ids": [a[1]]}
    assert (await hub.client.delete("/api/notifications", headers=h)).json() == {"deleted": 2}
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 1
    assert await _events(hub, "deleted") == a


async def test_click_redirects_to_stored_link_only(hub: Hub) -> None:
    [with_link] = await seed(hub, "alice", 1, link="https://example.com/orders/7")
    [relative] = await seed(hub, "alice", 1, link="/billing/7")
    [no_link] = await seed(hub, "alice", 1)
    [theirs] = await seed(hub, "bob", 1, link="https://example.com/bob")
    h = hub.user("alice")
    r = await hub.client.get(f"/r/{with_link}", headers=h)
    assert r.status_code == 302 and r.headers["location"] == "https://example.com/orders/7"
    # nothing in the request can choose the target
    r = await hub.client.get(f"/r/{relative}?next=https://evil.example", headers=h)
    assert r.status_code == 302 and r.headers["location"] == "/billing/7"
    r = await hub.client.get(f"/r/{no_link}", headers=h)
    assert r.headers["location"] == "/notifications"
    assert (await hub.client.get(f"/r/{theirs}", headers=h)).status_code == 404
    assert (await hub.client.get(f"/r/{with_link}")).status_code == 401
    # a browser that is not signed in goes to sign in and comes back
    r = await hub.client.get(f"/r/{with_link}", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/r/{with_link}"
    state = await _state(hub, with_link)
    assert state["is_read"] is True and state["clicked_at"] is not None
    assert (await _state(hub, theirs))["clicked_at"] is None
    assert await _events(hub, "clicked") == [with_link, relative, no_link]


async def test_click_with_session_cookie(hub: Hub) -> None:
    [nid] = await seed(hub, "alice", 1, link="/x")
    r = await hub.client.post("/api/auth/session", json={"token": hub.token("alice")})
    assert r.status_code == 200
    r = await hub.client.get(f"/r/{nid}")
    assert r.status_code == 302 and r.headers["location"] == "/x"
    hub.client.cookies.clear()


def test_redirect_target_rechecks_the_stored_link() -> None:
    from hub.notifications.actions_api import redirect_target

    assert redirect_target("javascript:alert(1)") == "/notifications"
    assert redirect_target("//evil.example") == "/notifications"
    assert redirect_target(None) == "/notifications"
    assert redirect_target("https://ok.example/a") == "https://ok.example/a"


async def test_endpoints_publish_live_messages_after_commit(hub: Hub, live: Recorder) -> None:
    ids = await seed(hub, "alice", 7)
    rec = live
    h = hub.user("alice")
    await hub.client.post("/api/notifications/bulk-read", json={"ids": ids}, headers=h)
    assert rec.messages == [
        (
            "alice",
            {"type": "notification.updated", "ids": ids, "changes": {"is_read": True}},
        ),
        ("alice", {"type": "unread_count", "count": 0}),
    ]
    rec.messages.clear()
    await hub.client.post("/api/notifications/archive", json={"ids": ids[:1]}, headers=h)
    assert rec.messages[0][1]["notification"]["archived"] is True
    rec.messages.clear()
    await hub.client.delete(f"/api/notifications/{ids[1]}", headers=h)
    assert rec.messages == [
        ("alice", {"type": "notification.deleted", "ids": [ids[1]]}),
        ("alice", {"type": "unread_count", "count": 0}),
    ]
    rec.messages.clear()
    # nothing changed: nothing published
    await hub.client.post("/api/notifications/read-all", headers=h)
    await hub.client.post("/api/notifications/bulk-delete", json={"ids": [10**9]}, headers=h)
    assert rec.messages == []
