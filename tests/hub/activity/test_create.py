"""POST /api/activities: auth, validation, batches, idempotency (also concurrent)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Hub

Make = Callable[..., dict[str, Any]]


async def test_single_activity_is_created_and_readable_by_its_user(
    hub: Hub, post: Any, make: Make
) -> None:
    r = await post(
        make(
            resource_type="invoice",
            resource_id="INV-42",
            description="Card ending 4242",
            metadata={"amount": 1200, "currency": "EUR"},
            ip_address="203.0.113.9",
            user_agent="Shop/1.0",
        )
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["replayed"] is False
    a = body["activity"]
    assert a["user_id"] == "alice" and a["activity_type"] == "payment"
    assert a["action"] == "completed" and a["status"] == "completed"
    assert a["metadata"] == {"amount": 1200, "currency": "EUR"}
    assert a["ip_address"] == "203.0.113.9" and a["user_agent"] == "Shop/1.0"
    assert a["created_at"].endswith("Z")
    got = await hub.client.get(f"/api/activities/{a['id']}", headers=hub.user("alice"))
    assert got.status_code == 200 and got.json() == a


async def test_auth_is_required_and_needs_the_activity_scope(hub: Hub, make: Make) -> None:
    assert (await hub.client.post("/api/activities", json=make())).status_code == 401
    notify_only = await hub.key("notify")
    r = await hub.client.post("/api/activities", json=make(), headers=notify_only)
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope"
    r = await hub.client.post("/api/activities", json=make(), headers=hub.user("alice"))
    assert r.status_code == 403
    admin = await hub.key("admin")
    assert (await hub.client.post("/api/activities", json=make(), headers=admin)).status_code == 201


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"activity_type": "Payment!"}, "activity_type"),
        ({"activity_type": "x" * 51}, "activity_type"),
        ({"action": "exploded"}, "action"),
        ({"status": "done"}, "status"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 2001}, "description"),
        ({"metadata": {"blob": "x" * 17_000}}, "metadata"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"user_id": "has space"}, "user_id"),
        ({"resource_type": "Bad Type"}, "resource_type"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_fields_answer_422_naming_the_field(
    hub: Hub, post: Any, make: Make, fields: dict[str, Any], bad: str
) -> None:
    r = await post(make(**fields))
    assert r.status_code == 422, r.text
    assert bad in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 0


async def test_producer_defined_types_and_builtins_are_accepted(post: Any, make: Make) -> None:
    for t in ("verification", "payment", "login", "settings", "api_key", "shop.order-v2"):
        r = await post(make(activity_type=t))
        assert r.status_code == 201, (t, r.text)


async def test_bad_bodies_are_422(hub: Hub, post: Any, producer: dict[str, str]) -> None:
    r = await hub.client.post("/api/activities", content=b"{nope", headers=producer)
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    r = await post([1, 2])
    assert r.status_code == 422 and "body" in r.json()["error"]["fields"]
    r = await post({"activities": []})
    assert r.status_code == 422 and "activities" in r.json()["error"]["fields"]


async def test_batch_creates_all_in_order_and_names_the_bad_item(
    hub: Hub, post: Any, make: Make
) -> None:
    items = [make(f"u{n % 3}", title=f"t{n}") for n in range(25)]
    r = await post({"activities": items})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 25 and body["created"] == 25 and body["replayed"] == 0
    assert [a["title"] for a in body["activities"]] == [f"t{n}" for n in range(25)]
    assert body["ids"] == sorted(body["ids"])
    bad = [make(), make(title="")]
    r = await post({"activities": bad})
    assert r.status_code == 422 and "activities.1.title" in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 25


async def test_batch_is_limited_to_1000(hub: Hub, post: Any, make: Make) -> None:
    r = await post({"activities": [make(title=f"{n}") for n in range(1000)]})
    assert r.status_code == 201 and r.json()["count"] == 1000
    # above 100 items the answer lists ids only
    assert len(r.json()["ids"]) == 1000 and "activities" not in r.json()
    r = await post({"activities": [make() for _ in range(1001)]})
    assert r.status_code == 422 and "activities" in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 1000


async def test_item_keys_make_retries_idempotent(hub: Hub, post: Any, make: Make) -> None:
    first = await post(make(idempotency_key="pay-1"))
    again = await post(make(idempotency_key="pay-1", title="changed"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["activity"] == first.json()["activity"]
    # a batch mixing a known key with new items creates only the new ones
    r = await post(
        {
            "activities": [
                make(title="new"),
                make(idempotency_key="pay-1"),
                make(idempotency_key="k2"),
            ]
        }
    )
    assert r.status_code == 201
    body = r.json()
    assert body["created"] == 2 and body["replayed"] == 1
    assert body["ids"][1] == first.json()["activity"]["id"]
    assert [a["title"] for a in body["activities"]] == ["new", "Paid invoice", "Paid invoice"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 3


async def test_keys_belong_to_their_api_key(hub: Hub, post: Any, make: Make) -> None:
    other = await hub.key("activity", name="other")
    a = await post(make(idempotency_key="same"))
    b = await hub.client.post("/api/activities", json=make(idempotency_key="same"), headers=other)
    assert a.status_code == 201 and b.status_code == 201
    assert a.json()["activity"]["id"] != b.json()["activity"]["id"]


async def test_duplicate_keys_inside_one_batch_are_refused(hub: Hub, post: Any, make: Make) -> None:
    r = await post({"activities": [make(idempotency_key="a"), make(idempotency_key="a")]})
    assert r.status_code == 422
    assert "activities.1.idempotency_key" in r.json()["error"]["fields"]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 0


async def test_header_key_guards_a_single_activity_and_a_whole_batch(
    hub: Hub, post: Any, make: Make
) -> None:
    one = await post(make(), headers={"Idempotency-Key": "h1"})
    again = await post(make(), headers={"Idempotency-Key": "h1"})
    assert one.status_code == 201 and again.status_code == 200
    assert again.json()["activity"]["id"] == one.json()["activity"]["id"]
    batch = {"activities": [make(title="a"), make(title="b")]}
    b1 = await post(batch, headers={"Idempotency-Key": "batch-1"})
    b2 = await post(batch, headers={"Idempotency-Key": "batch-1"})
    assert b1.status_code == 201 and b2.status_code == 200
    assert b2.json()["ids"] == b1.json()["ids"] and b2.json()["replayed"] == 2
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 3


async def test_concurrent_retries_create_once(hub: Hub, post: Any, make: Make) -> None:
    single = [post(make(idempotency_key="race")) for _ in range(6)]
    batch = {"activities": [make(idempotency_key="r2"), make(idempotency_key="r1")]}
    batches = [post(batch) for _ in range(4)]
    # the same keys in another order: claims go in key order, so no deadlock
    flipped = {"activities": list(reversed(batch["activities"]))}
    results = await asyncio.gather(*single, *batches, post(flipped), post(flipped))
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    ids = {r.json()["activity"]["id"] for r in results[:6]}
    assert len(ids) == 1
    assert sum(r.status_code == 201 for r in results[:6]) == 1
    batch_ids = {frozenset(r.json()["ids"]) for r in results[6:]}
    assert len(batch_ids) == 1
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 3


async def test_new_activities_are_published_live_and_replays_are_not(
    post: Any, make: Make, fanout: Any
) -> None:
    r = await post({"activities": [make("alice", idempotency_key="x"), make("bob")]})
    assert r.status_code == 201
    assert [(u, m["type"]) for u, m in fanout.messages] == [
        ("alice", "activity.created"),
        ("bob", "activity.created"),
    ]
    assert fanout.messages[0][1]["activity"] == r.json()["activities"][0]
    fanout.messages.clear()
    await post(make("alice", idempotency_key="x"))
    assert fanout.messages == []


async def test_optional_fields_are_normalised(post: Any, make: Make) -> None:
    r = await post(make(ip_address="", resource_id="a/b c", metadata=None))
    assert r.status_code == 201
    a = r.json()["activity"]
    assert a["ip_address"] is None and a["resource_id"] == "a/b c" and a["metadata"] is None
    r = await post(make(ip_address="2001:DB8::1"))
    assert r.json()["activity"]["ip_address"] == "2001:db8::1"
    r = await post(make(resource_id="bad\nid"))
    assert r.status_code == 422 and "resource_id" in r.json()["error"]["fields"]


async def test_endpoints_are_documented_in_openapi(hub: Hub) -> None:
    doc = (await hub.client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path, method in [
        ("/api/activities", "post"),
        ("/api/activities", "get"),
        ("/api/activities/{activity_id}", "get"),
        ("/api/activities/resource/{resource_type}/{resource_id}", "get"),
        ("/api/activities/summary/overview", "get"),
        ("/api/activities/export", "post"),
    ]:
        assert "activity" in paths[path][method]["tags"], (path, method)


async def test_keys_expire_after_24_hours(hub: Hub, post: Any, make: Make) -> None:
    first = await post({"activities": [make(idempotency_key="old"), make(idempotency_key="b")]})
    await hub.db.execute(
        "UPDATE idempotency_keys SET created_at = created_at - 86400001 WHERE key = 'old'"
    )
    again = await post({"activities": [make(idempotency_key="old"), make(idempotency_key="b")]})
    assert again.status_code == 201
    body = again.json()
    assert body["created"] == 1 and body["replayed"] == 1
    assert body["ids"][0] != first.json()["ids"][0] and body["ids"][1] == first.json()["ids"][1]
    # and the renewed key guards the new activity from now on
    third = await post(make(idempotency_key="old"))
    assert third.status_code == 200 and third.json()["activity"]["id"] == body["ids"][0]


async def test_a_replay_after_the_activity_was_erased_creates_nothing(
    hub: Hub, post: Any, make: Make
) -> None:
    first = (await post(make(idempotency_key="gone"))).json()["activity"]
    await hub.db.execute("DELETE FROM activities WHERE id = :i", {"i": first["id"]})
    again = await post(make(idempotency_key="gone"))
    assert again.status_code == 200
    assert again.json() == {"activity": None, "replayed": True}
    r = await post({"activities": [make(idempotency_key="gone"), make(title="fresh")]})
    assert r.status_code == 201 and r.json()["count"] == 1 and r.json()["created"] == 1
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM activities") == 1


async def test_nul_characters_are_refused_not_a_server_error(
    hub: Hub, post: Any, make: Make
) -> None:
    for field in ("title", "description", "user_agent", "idempotency_key"):
        r = await post(make(**{field: "a\x00b"}))
        assert r.status_code == 422 and field in r.json()["error"]["fields"], field
    r = await hub.client.get("/api/activities", params={"q": "a\x00"}, headers=hub.user("a"))
    assert r.status_code == 422 and "q" in r.json()["error"]["fields"]
