"""Summary numbers and the JSON/CSV export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hub.activity.export import csv_safe
from hub.activity.summary import summarize
from hub.db import now_ms
from tests.conftest import Hub
from tests.hub.activity.conftest import seed

DAY = 24 * 3600 * 1000


async def test_summary_counts_by_type_and_status_over_windows(hub: Hub) -> None:
    now = now_ms()
    for age_days, atype, status in [
        (0.1, "payment", "completed"),
        (1, "payment", "failed"),
        (6.9, "login", "completed"),
        (7.1, "login", "completed"),
        (20, "settings", "pending"),
        (29.9, "payment", "completed"),
        (31, "payment", "completed"),
        (300, "verification", "failed"),
    ]:
        await seed(hub, "alice", now - int(age_days * DAY), activity_type=atype, status=status)
    await seed(hub, "bob", now, activity_type="login")
    r = await hub.client.get("/api/activities/summary/overview", headers=hub.user("alice"))
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["all_time"] == {
        "total": 8,
        "by_type": {"payment": 4, "login": 2, "settings": 1, "verification": 1},
        "by_status": {"completed": 5, "pending": 1, "failed": 2},
    }
    assert s["last_7_days"] == {
        "total": 3,
        "by_type": {"payment": 2, "login": 1},
        "by_status": {"completed": 2, "pending": 0, "failed": 1},
    }
    assert s["last_30_days"] == {
        "total": 6,
        "by_type": {"payment": 3, "login": 2, "settings": 1},
        "by_status": {"completed": 4, "pending": 1, "failed": 1},
    }
    assert s["generated_at"].endswith("Z")
    empty = (await hub.client.get("/api/activities/summary/overview", headers=hub.user("z"))).json()
    assert empty["all_time"] == {
        "total": 0,
        "by_type": {},
        "by_status": {"completed": 0, "pending": 0, "failed": 0},
    }


def test_summarize_is_pure_and_skips_zero_counts() -> None:
    out = summarize(
        [
            {
                "activity_type": "a",
                "status": "failed",
                "total": 3,
                "last_7_days": 0,
                "last_30_days": 2,
            },
        ]
    )
    assert out["last_7_days"]["by_type"] == {}
    assert out["last_30_days"]["by_status"]["failed"] == 2


def test_csv_safe_neutralises_formulas_only_in_text() -> None:
    for cell in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(cell) == "'" + cell
    for cell in ("plain", "1-2", "", 5, None):
        assert csv_safe(cell) == cell


async def _export(hub: Hub, body: dict[str, Any], user: str = "alice") -> Any:
    return await hub.client.post("/api/activities/export", json=body, headers=hub.user(user))


async def test_csv_export_is_complete_ordered_and_formula_safe(hub: Hub, post: Any) -> None:
    base = now_ms() - DAY
    ids = [
        await seed(
            hub,
            "alice",
            base + n,
            title=f'=HYPERLINK("http://evil/{n}")' if n == 0 else f"title {n}",
            description="-10 refund" if n == 1 else 'ok, "quoted"\nnext line',
            metadata={"n": n},
            resource_type="invoice",
            resource_id=f"@{n}",
        )
        for n in range(3)
    ]
    await seed(hub, "bob", base, title="bob's")
    r = await _export(hub, {"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(x["id"]) for x in rows] == list(reversed(ids))
    by_id = {int(x["id"]): x for x in rows}
    assert by_id[ids[0]]["title"] == '\'=HYPERLINK("http://evil/0")'
    assert by_id[ids[1]]["description"] == "'-10 refund"
    assert by_id[ids[2]]["description"] == 'ok, "quoted"\nnext line'
    assert by_id[ids[2]]["resource_id"] == "'@2"
    assert json.loads(by_id[ids[2]]["metadata"]) == {"n": 2}
    assert all(x["user_agent"] == "" for x in rows)


async def test_json_export_streams_every_match_across_chunks(
    hub: Hub, post: Any, make: Any
) -> None:
    # more than one export chunk (1,000 rows) to cover the keyset continuation
    r = await post({"activities": [make(title=f"p{n}") for n in range(1000)]})
    assert r.status_code == 201
    r = await post({"activities": [make(activity_type="login", title=f"l{n}") for n in range(5)]})
    await post(make("bob"))
    r = await _export(hub, {"format": "json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    items = r.json()
    assert len(items) == 1005 and len({a["id"] for a in items}) == 1005
    assert [a["id"] for a in items] == sorted((a["id"] for a in items), reverse=True)
    assert all(a["user_id"] == "alice" for a in items)
    only = (await _export(hub, {"filters": {"activity_type": "login", "q": "l3"}})).json()
    assert [a["title"] for a in only] == ["l3"]
    assert (await _export(hub, {"format": "json"}, user="nobody")).json() == []


async def test_export_rejects_bad_format_and_filters(hub: Hub) -> None:
    r = await _export(hub, {"format": "xlsx"})
    assert r.status_code == 422 and "format" in r.json()["error"]["fields"]
    r = await _export(hub, {"filters": {"status": "nope"}})
    assert r.status_code == 422 and "filters.status" in r.json()["error"]["fields"]
    r = await _export(hub, {"filters": {"date_from": "soon"}})
    assert r.status_code == 422 and "filters.date_from" in r.json()["error"]["fields"]


async def test_export_with_a_session_cookie_needs_the_csrf_token(hub: Hub) -> None:
    r = await hub.client.post("/api/auth/session", json={"token": hub.token("alice")})
    csrf = r.json()["csrf_token"]
    r = await hub.client.post("/api/activities/export", json={"format": "json"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await hub.client.post(
        "/api/activities/export", json={"format": "json"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200
    assert [a["activity_type"] for a in r.json()] == ["login"]
    # reading with the cookie needs no token
    assert (await hub.client.get("/api/activities")).json()["total"] == 1
