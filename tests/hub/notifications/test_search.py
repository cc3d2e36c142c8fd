"""Full-text search: relevance, prefix, filters, isolation, no FTS syntax injection."""

from __future__ import annotations

import pytest

from hub.errors import Invalid
from hub.notifications import search, service
from tests.conftest import Hub
from tests.hub.notifications.conftest import seed

SEARCH = "/api/notifications/search"


def test_terms_are_plain_words() -> None:
    assert search.terms('Invoice "paid" OR title:x* NEAR(a b) -- drop') == [
        "invoice",
        "paid",
        "or",
        "title",
        "x",
        "near",
        "a",
        "b",
        # at most 8 terms
    ]
    assert search.terms("Café  crème_brûlée 42") == ["café", "crème", "brûlée", "42"]
    assert search.terms("'\"*:&|!()") == []
    assert search.pg_tsquery(["inv", "7"]) == "'inv':* & '7':*"
    assert search.fts5_query(["inv", "7"]) == '"inv"* "7"*'
    with pytest.raises(Invalid):
        search.require_terms("*** ---")


async def _search(hub: Hub, user: str, **params: object) -> dict:
    r = await hub.client.get(SEARCH, params=params, headers=hub.user(user))
    assert r.status_code == 200, r.text
    return r.json()


async def test_ranked_title_above_body_and_prefix(hub: Hub) -> None:
    [body_hit] = await seed(hub, "alice", 1, title="Weekly report", body="Your invoice is attached")
    [title_hit] = await seed(hub, "alice", 1, title="Invoice paid", body="Thanks for paying")
    await seed(hub, "alice", 3, title="Nothing here", body="unrelated text {i}")
    await seed(hub, "bob", 2, title="Invoice for bob", body="invoice")
    body = await _search(hub, "alice", query="invoice")
    assert [i["id"] for i in body["items"]] == [title_hit, body_hit]
    assert body["total"] == 2
    assert body["items"][0]["rank"] > body["items"][1]["rank"]
    # prefix: what a user has typed so far
    assert {i["id"] for i in (await _search(hub, "alice", query="inv"))["items"]} == {
        title_hit,
        body_hit,
    }
    # every word must match
    assert [i["id"] for i in (await _search(hub, "alice", query="invoice pa"))["items"]] == [
        title_hit
    ]
    assert (await _search(hub, "alice", query="invoicex"))["total"] == 0


async def test_search_filters_post_and_paging(hub: Hub) -> None:
    billing = await seed(hub, "alice", 3, category="billing", title="Order {i} shipped")
    social = await seed(hub, "alice", 2, category="social", title="Order {i} liked")
    await service.mark_read(hub.state, "alice", [billing[0]])
    await service.archive(hub.state, "alice", [social[0]])
    body = await _search(hub, "alice", query="order", category="billing")
    assert sorted(i["id"] for i in body["items"]) == billing
    body = await _search(hub, "alice", query="order", is_read="false")
    assert sorted(i["id"] for i in body["items"]) == [billing[1], billing[2], social[1]]
    body = await _search(hub, "alice", query="order", archived="true")
    assert [i["id"] for i in body["items"]] == [social[0]]
    page = await _search(hub, "alice", query="order", limit=2, skip=2)
    assert len(page["items"]) == 2 and page["total"] == 4
    r = await hub.client.post(
        SEARCH, json={"query": "shipped", "limit": 1}, headers=hub.user("alice")
    )
    assert r.status_code == 200 and r.json()["total"] == 3 and len(r.json()["items"]) == 1


async def test_search_input_cannot_inject_fts_syntax(hub: Hub) -> None:
    [nid] = await seed(hub, "alice", 1, title="Deploy done", body="release 42")
    h = hub.user("alice")
    for q in ['deploy"', "deploy OR x", "title:deploy", "deploy*", "(deploy", "deploy & !x"]:
        r = await hub.client.get(SEARCH, params={"query": q}, headers=h)
        assert r.status_code == 200, (q, r.text)
    # quotes and stars are separators: the words still match
    r = await hub.client.get(SEARCH, params={"query": '"deploy"* (42)'}, headers=h)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [nid]
    for params in ({"query": "  ***  "}, {}, {"query": ""}, {"query": "x" * 501}):
        r = await hub.client.get(SEARCH, params=params, headers=h)
        assert r.status_code == 422 and "query" in r.json()["error"]["fields"], r.text
    r = await hub.client.post(SEARCH, json={"query": 5}, headers=h)
    assert r.status_code == 422 and "query" in r.json()["error"]["fields"]
    assert (await hub.client.get(SEARCH, params={"query": "deploy"})).status_code == 401


async def test_search_sees_deletes_and_new_rows(hub: Hub) -> None:
    [nid] = await seed(hub, "alice", 1, title="Kangaroo sighting")
    assert (await _search(hub, "alice", query="kanga"))["total"] == 1
    await service.delete(hub.state, "alice", [nid])
    assert (await _search(hub, "alice", query="kanga"))["total"] == 0
    await hub.send("alice", title="Another kangaroo")
    assert (await _search(hub, "alice", query="kangaroo"))["total"] == 1


async def test_users_with_many_rows_search_through_the_gin_index(hub: Hub, monkeypatch) -> None:
    monkeypatch.setattr(search, "GIN_THRESHOLD", 3)
    ids = await seed(hub, "alice", 5, title="Alpha {i}", body="beta")
    await seed(hub, "bob", 2, title="Alpha")
    assert await search.many_rows(hub.db, "alice") is True
    assert await search.many_rows(hub.db, "bob") is False
    body = await _search(hub, "alice", query="alp bet")
    assert sorted(i["id"] for i in body["items"]) == ids and body["total"] == 5


async def test_total_past_the_last_page(hub: Hub) -> None:
    await seed(hub, "alice", 3, title="Zebra {i}")
    body = await _search(hub, "alice", query="zebra", skip=10)
    assert body["items"] == [] and body["total"] == 3
    body = await _search(hub, "alice", query="zebra", limit=1)
    assert len(body["items"]) == 1 and body["total"] == 3
    assert "total" not in body["items"][0]
