"""Reading the feed: isolation, every filter, pagination, resource view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.db import iso_to_ms, ms_to_iso, now_ms
from tests.conftest import Hub
from tests.hub.activity.conftest import seed

DAY = 24 * 3600 * 1000
Make = Callable[..., dict[str, Any]]


async def feed(hub: Hub, user: str = "alice", **params: Any) -> dict[str, Any]:
    r = await hub.client.get("/api/activities", params=params, headers=hub.user(user))
    assert r.status_code == 200, r.text
    return r.json()


async def test_users_see_only_their_own_activities(hub: Hub, post: Any, make: Any) -> None:
    a = (await post(make("alice"))).json()["activity"]
    b = (await post(make("bob"))).json()["activity"]
    assert [x["id"] for x in (await feed(hub, "alice"))["items"]] == [a["id"]]
    assert [x["id"] for x in (await feed(hub, "bob"))["items"]] == [b["id"]]
    r = await hub.client.get(f"/api/activities/{b['id']}", headers=hub.user("alice"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    for path in ("/api/activities/999999", "/api/activities/abc", "/api/activities/-1"):
        assert (await hub.client.get(path, headers=hub.user("alice"))).status_code == 404
    r = await hub.client.get("/api/activities/resource/invoice/1", headers=hub.user("bob"))
    assert r.json()["total"] == 0


async def test_reading_needs_a_user_not_a_key(hub: Hub, producer: dict[str, str]) -> None:
    for path in ("/api/activities", "/api/activities/1", "/api/activities/summary/overview"):
        assert (await hub.client.get(path)).status_code == 401
        assert (await hub.client.get(path, headers=producer)).status_code == 403
    r = await hub.client.post("/api/activities/export", json={})
    assert r.status_code == 401


async def test_every_filter(hub: Hub) -> None:
    now = now_ms()
    ids = {
        "old_login": await seed(
            hub, "alice", now - 40 * DAY, activity_type="login", title="Signed in"
        ),
        "pay_failed": await seed(
            hub,
            "alice",
            now - 10 * DAY,
            status="failed",
            action="failed",
            title="Payment declined",
            description="Card 4242 was declined",
            resource_type="invoice",
            resource_id="7",
        ),
        "pay_ok": await seed(
            hub,
            "alice",
            now - 2 * DAY,
            title="Paid invoice 7",
            resource_type="invoice",
            resource_id="7",
        ),
        "settings": await seed(
            hub,
            "alice",
            now - DAY,
            activity_type="settings",
            action="updated",
            status="pending",
            title="Email changed to 100%_sure@example.com",
            resource_type="profile",
            resource_id="alice",
        ),
        "bob": await seed(hub, "bob", now, title="Paid invoice 7"),
    }

    async def got(**params: Any) -> list[int]:
        return [a["id"] for a in (await feed(hub, **params))["items"]]

    assert await got() == [ids["settings"], ids["pay_ok"], ids["pay_failed"], ids["old_login"]]
    assert await got(activity_type="payment") == [ids["pay_ok"], ids["pay_failed"]]
    assert await got(activity_type="login,settings") == [ids["settings"], ids["old_login"]]
    assert await got(resource_type="invoice") == [ids["pay_ok"], ids["pay_failed"]]
    assert await got(status="failed") == [ids["pay_failed"]]
    assert await got(status="pending") == [ids["settings"]]
    assert await got(q="declined") == [ids["pay_failed"]]
    assert await got(q="DECLINED card") == [ids["pay_failed"]]  # case-insensitive, all words
    assert await got(q="4242 paid") == []
    assert await got(q="invoice") == [ids["pay_ok"]]
    # LIKE wildcards in q are literal characters, not patterns
    assert await got(q="100%_sure") == [ids["settings"]]
    assert await got(q="%") == [ids["settings"]]
    assert await got(q="_") == [ids["settings"]]
    week_ago = now - 7 * DAY
    assert await got(date_from=_iso(week_ago)) == [ids["settings"], ids["pay_ok"]]
    assert await got(date_to=_iso(week_ago)) == [ids["pay_failed"], ids["old_login"]]
    assert await got(
        date_from=_iso(now - 11 * DAY), date_to=_iso(now - DAY), activity_type="payment"
    ) == [ids["pay_ok"], ids["pay_failed"]]
    assert (await feed(hub, status="failed"))["total"] == 1


def _iso(ms: int) -> str:
    return ms_to_iso(ms) or ""


async def test_a_bare_date_to_includes_that_whole_day(hub: Hub) -> None:
    start = iso_to_ms("2026-03-10T00:00:00Z")
    inside = await seed(hub, "alice", start + 23 * 3600 * 1000)
    await seed(hub, "alice", start + DAY)  # the next day
    await seed(hub, "alice", start - 1)  # the day before
    got = await feed(hub, date_from="2026-03-10", date_to="2026-03-10")
    assert [a["id"] for a in got["items"]] == [inside]


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"status": "done"}, "status"),
        ({"activity_type": "NOPE!"}, "activity_type"),
        ({"resource_type": "a b"}, "resource_type"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-13-45"}, "date_to"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": "-1"}, "skip"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ"}, "cursor"),  # out of BIGINT range
        ({"cursor": "MTox", "skip": "3"}, "skip"),
        ({"q": "a b c d e f g h i"}, "q"),
        ({"sort": "asc"}, "sort"),
        ({"activity_type": ",".join(f"t{n}" for n in range(21))}, "activity_type"),
    ],
)
async def test_bad_filters_answer_422_naming_the_field(
    hub: Hub, params: dict[str, str], bad: str
) -> None:
    r = await hub.client.get("/api/activities", params=params, headers=hub.user("alice"))
    assert r.status_code == 422, r.text
    assert bad in r.json()["error"]["fields"]


async def test_cursor_pages_have_no_gaps_or_repeats_while_new_activities_arrive(
    hub: Hub, post: Any, make: Make
) -> None:
    base = now_ms() - 1000 * DAY
    # several activities share a timestamp, so the id tie-break matters
    seeded = [await seed(hub, "alice", base + (n // 3) * 1000, title=f"a{n}") for n in range(23)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = await feed(hub, **params)
        seen += [a["id"] for a in page["items"]]
        pages += 1
        # new activity lands at the top between page reads
        assert (await post(make("alice", title=f"new{pages}"))).status_code == 201
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(seeded, key=lambda i: (seeded.index(i) // 3, i), reverse=True)
    assert seen == expected
    assert pages == 5


async def test_skip_limit_pagination_and_total(hub: Hub) -> None:
    base = now_ms() - DAY
    ids = [await seed(hub, "alice", base + n) for n in range(7)]
    newest_first = list(reversed(ids))
    page = await feed(hub, skip=2, limit=3)
    assert [a["id"] for a in page["items"]] == newest_first[2:5]
    assert page["total"] == 7 and page["next_cursor"] is not None
    last = await feed(hub, skip=5, limit=3)
    assert [a["id"] for a in last["items"]] == newest_first[5:]
    assert last["next_cursor"] is None
    assert (await feed(hub))["limit"] == 20


async def test_resource_view_lists_one_resource_with_filters_and_paging(hub: Hub) -> None:
    base = now_ms() - DAY
    inv = [
        await seed(hub, "alice", base + n, resource_type="invoice", resource_id="INV/7")
        for n in range(3)
    ]
    await seed(hub, "alice", base, resource_type="invoice", resource_id="INV/8")
    await seed(hub, "alice", base, resource_type="order", resource_id="INV/7")
    await seed(hub, "bob", base, resource_type="invoice", resource_id="INV/7")
    headers = hub.user("alice")
    r = await hub.client.get("/api/activities/resource/invoice/INV/7", headers=headers)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["items"]] == list(reversed(inv))
    r = await hub.client.get(
        "/api/activities/resource/invoice/INV/7", params={"limit": 2}, headers=headers
    )
    body = r.json()
    assert body["total"] == 3 and len(body["items"]) == 2
    r = await hub.client.get(
        "/api/activities/resource/invoice/INV/7",
        params={"cursor": body["next_cursor"], "limit": 2},
        headers=headers,
    )
    assert [a["id"] for a in r.json()["items"]] == [inv[0]]
    r = await hub.client.get("/api/activities/resource/Bad%20Type/1", headers=headers)
    assert r.status_code == 422 and "resource_type" in r.json()["error"]["fields"]
    r = await hub.client.get("/api/activities/resource/invoice/" + "x" * 201, headers=headers)
    assert r.status_code == 422 and "resource_id" in r.json()["error"]["fields"]


async def test_a_bad_date_says_what_is_expected(hub: Hub) -> None:
    r = await hub.client.get(
        "/api/activities", params={"date_to": "soon"}, headers=hub.user("alice")
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"date_to": "expected an ISO 8601 date or datetime"}
