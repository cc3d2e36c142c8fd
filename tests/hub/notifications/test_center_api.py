"""GET /api/notifications/center, categories, unread-count and the polling fallback."""

from __future__ import annotations

from hub.notifications import service
from tests.conftest import Hub
from tests.hub.notifications.conftest import ids_of, seed

CENTER = "/api/notifications/center"


async def test_center_lists_own_newest_first_with_total(hub: Hub) -> None:
    mine = await seed(hub, "alice", 5)
    await seed(hub, "bob", 3)
    r = await hub.client.get(CENTER, headers=hub.user("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert ids_of(body) == mine[::-1]
    assert body["total"] == 5 and body["next_cursor"] is None
    item = body["items"][0]
    assert item["user_id"] == "alice" and item["is_read"] is False
    assert item["created_at"].endswith("Z")


async def test_auth_required(hub: Hub) -> None:
    for path in (CENTER, "/api/notifications/categories", "/api/notifications/unread-count"):
        assert (await hub.client.get(path)).status_code == 401
        # an API key is not a user
        r = await hub.client.get(path, headers=await hub.key("admin"))
        assert r.status_code == 403


async def test_filters_and_sorts(hub: Hub) -> None:
    billing = await seed(hub, "alice", 4, category="billing", start=1_700_000_000_000)
    social = await seed(hub, "alice", 4, category="social", start=1_700_100_000_000)
    await service.mark_read(hub.state, "alice", [billing[0], social[1]])
    await service.archive(hub.state, "alice", [social[3]])
    h = hub.user("alice")

    async def get(**params: object) -> dict:
        r = await hub.client.get(CENTER, params=params, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    assert ids_of(await get(category="billing")) == billing[::-1]
    assert ids_of(await get(is_read="true")) == [social[1], billing[0]]
    unread = await get(is_read="false")
    assert ids_of(unread) == [social[2], social[0], *billing[:0:-1]]
    assert ids_of(await get(archived="true")) == [social[3]]
    assert (await get(archived="all"))["total"] == 8
    assert (await get())["total"] == 7  # archived ones are out of the default view
    assert ids_of(await get(sort="oldest")) == [*billing, *social[:3]]
    first = await get(sort="unread_first")
    assert ids_of(first) == [social[2], social[0], billing[3], billing[2], billing[1]] + [
        social[1],
        billing[0],
    ]
    # dates: billing was created from 2023-11-14T22:13:20Z a minute apart
    r = await get(date_from="2023-11-14T22:14:00Z", date_to="2023-11-14T22:16:00Z")
    assert ids_of(r) == [billing[2], billing[1]]
    assert (await get(date_to="2023-11-13"))["total"] == 0
    assert (await get(date_to="2023-11-14"))["total"] == 4  # a bare date includes that day


async def test_invalid_parameters_are_422_naming_the_field(hub: Hub) -> None:
    h = hub.user("alice")
    cases = {
        "limit": {"limit": "101"},
        "skip": {"skip": "-1"},
        "sort": {"sort": "random"},
        "is_read": {"is_read": "maybe"},
        "archived": {"archived": "sometimes"},
        "date_from": {"date_from": "yesterday"},
        "category": {"category": "no spaces please"},
        "cursor": {"cursor": "garbage"},
    }
    for field, params in cases.items():
        r = await hub.client.get(CENTER, params=params, headers=h)
        assert r.status_code == 422, (field, r.text)
        assert field in r.json()["error"]["fields"], (field, r.json())
    r = await hub.client.get(
        CENTER, params={"date_from": "2024-02-01", "date_to": "2024-01-01"}, headers=h
    )
    assert r.status_code == 422


async def test_cursor_pages_have_no_gaps_or_repeats_while_new_ones_arrive(hub: Hub) -> None:
    ids = await seed(hub, "alice", 25)
    h = hub.user("alice")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        r = await hub.client.get(CENTER, params=params, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += ids_of(body)
        pages += 1
        # new notifications arrive between pages; they must not shift the pages
        await hub.send("alice", title=f"new {pages}")
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert pages == 3


async def test_cursor_for_oldest_and_unread_first(hub: Hub) -> None:
    ids = await seed(hub, "alice", 9)
    await service.mark_read(hub.state, "alice", ids[::2])
    h = hub.user("alice")
    for sort, expected in (
        ("oldest", ids),
        ("unread_first", [*ids[1::2][::-1], *ids[::2][::-1]]),
    ):
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": "2", "sort": sort, **({"cursor": cursor} if cursor else {})}
            body = (await hub.client.get(CENTER, params=params, headers=h)).json()
            seen += ids_of(body)
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, sort
    # a cursor of one sort order is refused for another
    body = (await hub.client.get(CENTER, params={"limit": "2"}, headers=h)).json()
    r = await hub.client.get(
        CENTER, params={"cursor": body["next_cursor"], "sort": "oldest"}, headers=h
    )
    assert r.status_code == 422 and "cursor" in r.json()["error"]["fields"]
    # and a tampered one too
    r = await hub.client.get(CENTER, params={"cursor": body["next_cursor"][:-2] + "xx"}, headers=h)
    assert r.status_code == 422


async def test_skip_limit(hub: Hub) -> None:
    ids = await seed(hub, "alice", 7)
    body = (
        await hub.client.get(CENTER, params={"skip": "2", "limit": "3"}, headers=hub.user("alice"))
    ).json()
    assert ids_of(body) == ids[::-1][2:5]
    assert body["total"] == 7 and body["next_cursor"] is not None


async def test_categories_and_unread_count(hub: Hub) -> None:
    billing = await seed(hub, "alice", 3, category="billing")
    social = await seed(hub, "alice", 2, category="social")
    await seed(hub, "bob", 4, category="billing")
    await service.mark_read(hub.state, "alice", [billing[0]])
    await service.archive(hub.state, "alice", [social[0]])
    h = hub.user("alice")
    r = await hub.client.get("/api/notifications/categories", headers=h)
    assert r.json() == {
        "categories": [
            {"category": "billing", "total": 3, "unread": 2},
            {"category": "social", "total": 1, "unread": 1},
        ]
    }
    r = await hub.client.get("/api/notifications/categories", params={"archived": "all"}, headers=h)
    assert r.json()["categories"][1] == {"category": "social", "total": 2, "unread": 2}
    r = await hub.client.get("/api/notifications/unread-count", headers=h)
    assert r.json() == {"count": 3}
    r = await hub.client.get("/api/notifications/unread-count", headers=hub.user("carol"))
    assert r.json() == {"count": 0}


async def test_polling_returns_newer_ones_ascending(hub: Hub) -> None:
    ids = await seed(hub, "alice", 5)
    await seed(hub, "bob", 2)
    h = hub.user("alice")
    r = await hub.client.get("/api/notifications", params={"since": ids[1]}, headers=h)
    body = r.json()
    assert ids_of(body) == ids[2:] and body["since"] == ids[-1]
    assert body["unread_count"] == 5
    r = await hub.client.get("/api/notifications", params={"since": 0, "limit": 2}, headers=h)
    assert ids_of(r.json()) == ids[:2]
    r = await hub.client.get("/api/notifications", params={"since": ids[-1]}, headers=h)
    assert r.json()["items"] == [] and r.json()["since"] == ids[-1]
    r = await hub.client.get("/api/notifications", params={"limit": 500}, headers=h)
    assert r.status_code == 422 and "limit" in r.json()["error"]["fields"]
    r = await hub.client.get("/api/notifications", params={"since": 10**20}, headers=h)
    assert r.status_code == 422 and "since" in r.json()["error"]["fields"]
    r = await hub.client.post(
        "/api/notifications/search", json={"query": "x", "date_from": 10**20}, headers=h
    )
    assert r.status_code == 422 and "date_from" in r.json()["error"]["fields"]
    assert (await hub.client.get("/api/notifications")).status_code == 401
