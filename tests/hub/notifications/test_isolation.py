"""A user only ever sees and changes their own notifications: every endpoint,
given another user's notification, answers 404 or changes nothing."""

from __future__ import annotations

from tests.conftest import Hub
from tests.hub.notifications.conftest import seed


async def test_every_endpoint_isolates_users(hub: Hub) -> None:
    [bobs] = await seed(hub, "bob", 1, title="Bob private salary", link="/bob")
    await seed(hub, "alice", 1, title="Alice note")
    h = hub.user("alice")
    c = hub.client

    # single-id endpoints: 404
    assert (await c.post(f"/api/notifications/{bobs}/read", headers=h)).status_code == 404
    assert (await c.delete(f"/api/notifications/{bobs}", headers=h)).status_code == 404
    assert (await c.get(f"/r/{bobs}", headers=h)).status_code == 404
    # bulk endpoints: nothing changed
    for path in ("bulk-read", "archive", "unarchive", "bulk-delete"):
        r = await c.post(f"/api/notifications/{path}", json={"ids": [bobs]}, headers=h)
        assert r.json() == {"changed": 0, "ids": []}, path
    assert (await c.post("/api/notifications/read-all", headers=h)).json() == {"changed": 1}
    assert (await c.delete("/api/notifications", headers=h)).json() == {"deleted": 1}
    # reads never show bob's row
    for path, params in (
        ("/api/notifications/center", {"archived": "all"}),
        ("/api/notifications/search", {"query": "salary"}),
        ("/api/notifications", {"since": 0}),
        ("/api/notifications/export", {"format": "json"}),
    ):
        r = await c.get(path, params=params, headers=h)
        assert r.status_code == 200 and "private" not in r.text, path
    assert (await c.get("/api/notifications/categories", headers=h)).json() == {"categories": []}
    assert (await c.get("/api/notifications/unread-count", headers=h)).json() == {"count": 0}

    # and bob's row is exactly as it was
    row = await hub.db.fetch_one(
        "SELECT is_read, archived, clicked_at FROM notifications WHERE id = :id", {"id": bobs}
    )
    assert row is not None and not row["is_read"] and not row["archived"]
    assert row["clicked_at"] is None
    r = await c.get("/api/notifications/unread-count", headers=hub.user("bob"))
    assert r.json() == {"count": 1}
