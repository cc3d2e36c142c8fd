"""GET /api/notifications/export: CSV and JSON content, filters, formula escaping."""

from __future__ import annotations

import csv
import io

from hub.notifications import export, service
from tests.conftest import Hub
from tests.hub.notifications.conftest import seed

EXPORT = "/api/notifications/export"


def test_escape_cell() -> None:
    for bad in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert export.escape_cell(bad) == "'" + bad
    assert export.escape_cell("plain") == "plain"
    assert export.escape_cell(None) == ""
    assert export.escape_cell(True) == "true"
    assert export.escape_cell(7) == "7"


async def test_csv_export_is_escaped_and_filtered(hub: Hub) -> None:
    ids = await seed(hub, "alice", 3, title='=HYPERLINK("http://x")', body="@cmd {i}")
    [other] = await seed(hub, "alice", 1, category="social", title='Hi, "friend"', body="-1")
    await seed(hub, "bob", 2)
    await service.archive(hub.state, "alice", [ids[0]])
    r = await hub.client.get(EXPORT, params={"format": "csv"}, headers=hub.user("alice"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    # archived ones included: an export holds everything by default
    assert [int(x["id"]) for x in rows] == [other, *ids[::-1]]
    assert rows[1]["title"] == '\'=HYPERLINK("http://x")' and rows[1]["body"] == "'@cmd 2"
    assert rows[0]["title"] == 'Hi, "friend"' and rows[0]["body"] == "'-1"
    assert rows[-1]["archived"] == "true"
    r = await hub.client.get(EXPORT, params={"category": "social"}, headers=hub.user("alice"))
    assert [int(x["id"]) for x in csv.DictReader(io.StringIO(r.text))] == [other]


async def test_json_export_streams_every_row(hub: Hub, monkeypatch) -> None:
    from hub.notifications import center

    monkeypatch.setattr(center, "EXPORT_BATCH", 4)  # several batches
    ids = await seed(hub, "alice", 10, title="=raw {i}")
    await seed(hub, "bob", 1)
    r = await hub.client.get(EXPORT, params={"format": "json"}, headers=hub.user("alice"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    items = r.json()
    assert [i["id"] for i in items] == ids[::-1]
    assert items[0]["title"] == "=raw 9"  # JSON needs no formula escaping
    r = await hub.client.get(EXPORT, params={"format": "json"}, headers=hub.user("nobody"))
    assert r.json() == []


async def test_export_validation_and_auth(hub: Hub) -> None:
    r = await hub.client.get(EXPORT, params={"format": "xlsx"}, headers=hub.user("alice"))
    assert r.status_code == 422 and "format" in r.json()["error"]["fields"]
    assert (await hub.client.get(EXPORT)).status_code == 401
