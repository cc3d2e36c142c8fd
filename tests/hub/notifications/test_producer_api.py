"""POST /api/notifications: auth, validation, idempotency, bulk sends, outbox events."""

from __future__ import annotations

import asyncio

from tests.conftest import Hub


async def test_send_one_creates_notification_and_created_event(hub: Hub) -> None:
    headers = await hub.key("notify")
    r = await hub.client.post(
        "/api/notifications",
        json={
            "user_id": "alice",
            "category": "billing",
            "title": "Paid",
            "body": "Thanks",
            "link": "/billing/1",
            "data": {"amount": 5},
            "priority": "high",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 1 and body["replayed"] is False
    n = body["notifications"][0]
    assert n["user_id"] == "alice" and n["title"] == "Paid" and n["data"] == {"amount": 5}
    assert n["is_read"] is False and n["priority"] == "high"
    events = await hub.db.fetch_all("SELECT event, notification_id, user_id FROM outbox")
    assert events == [{"event": "created", "notification_id": n["id"], "user_id": "alice"}]


async def test_missing_or_wrong_key_is_401_and_missing_scope_403(hub: Hub) -> None:
    body = {"user_id": "a", "category": "c", "title": "t"}
    assert (await hub.client.post("/api/notifications", json=body)).status_code == 401
    r = await hub.client.post(
        "/api/notifications", json=body, headers={"Authorization": "Bearer hub_k_deadbeef_nope"}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    r = await hub.client.post("/api/notifications", json=body, headers=await hub.key("analytics"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope"
    # a user token cannot act as a producer either
    r = await hub.client.post("/api/notifications", json=body, headers=hub.user("a"))
    assert r.status_code == 403
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 0


async def test_validation_names_the_field_and_changes_nothing(hub: Hub) -> None:
    headers = await hub.key("notify")
    base = {"user_id": "alice", "category": "billing", "title": "ok"}
    cases = {
        "title": {**base, "title": "x" * 201},
        "body": {**base, "body": "x" * 10_001},
        "link": {**base, "link": "javascript:alert(1)"},
        "data": {**base, "data": {"x": "y" * 17_000}},
        "category": {**base, "category": "has space"},
        "priority": {**base, "priority": "urgent"},
        "user_id": {"category": "billing", "title": "no recipient"},
        "user_ids": {
            **{k: v for k, v in base.items() if k != "user_id"},
            "user_ids": ["u"] * 10_001,
        },
    }
    for field, payload in cases.items():
        r = await hub.client.post("/api/notifications", json=payload, headers=headers)
        assert r.status_code == 422, (field, r.text)
        assert field in r.json()["error"]["fields"], (field, r.json())
    r = await hub.client.post("/api/notifications", content=b"{nope", headers=headers)
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 0
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox") == 0


async def test_idempotency_key_returns_original_and_creates_nothing(hub: Hub) -> None:
    headers = await hub.key("notify")
    payload = {"user_ids": ["a", "b"], "category": "c", "title": "t", "idempotency_key": "k1"}
    first = await hub.client.post("/api/notifications", json=payload, headers=headers)
    again = await hub.client.post("/api/notifications", json=payload, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["ids"] == first.json()["ids"]
    # concurrent retries of a new key still create exactly one set
    payload2 = {**payload, "idempotency_key": "k2"}
    results = await asyncio.gather(
        *[hub.client.post("/api/notifications", json=payload2, headers=headers) for _ in range(5)]
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 200, 201]
    assert len({tuple(r.json()["ids"]) for r in results}) == 1
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 4
    # another API key may use the same idempotency key for its own send
    other = await hub.client.post(
        "/api/notifications", json=payload, headers=await hub.key("notify")
    )
    assert other.status_code == 201
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox") == 6


async def test_bulk_send_to_10000_users_is_one_transaction(hub: Hub) -> None:
    users = [f"user{i}" for i in range(10_000)]
    body = await hub.send(users, title="Maintenance")
    assert body["count"] == 10_000 and "notifications" not in body
    assert len(set(body["ids"])) == 10_000
    rows = await hub.db.fetch_all("SELECT COUNT(DISTINCT user_id) AS n FROM notifications")
    assert rows[0]["n"] == 10_000
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'created'") == 10_000
