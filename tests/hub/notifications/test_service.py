"""The write operations other parts call (mark_read, click, unread_count, ...):
ownership, outbox events in the same transaction, live messages after commit."""

from __future__ import annotations

from hub.notifications import service
from tests.conftest import Hub
from tests.hub.notifications.conftest import Recorder


async def _events(hub: Hub, kind: str) -> list[int]:
    rows = await hub.db.fetch_all(
        "SELECT notification_id FROM outbox WHERE event = :e ORDER BY notification_id",
        {"e": kind},
    )
    return [r["notification_id"] for r in rows]


async def test_mark_read_only_touches_own_unread_and_records_events(
    hub: Hub, live: Recorder
) -> None:
    a = (await hub.send(["alice"] * 1))["ids"] + (await hub.send("alice"))["ids"]
    b = (await hub.send("bob"))["ids"]
    rec = live
    rec.messages.clear()  # the sends' notification.created
    assert await service.unread_count(hub.state, "alice") == 2
    changed = await service.mark_read(hub.state, "alice", [a[0], b[0], 999_999])
    assert changed == [a[0]]
    # again: nothing left to change, no duplicate event
    assert await service.mark_read(hub.state, "alice", [a[0]]) == []
    assert await _events(hub, "read") == [a[0]]
    assert await service.unread_count(hub.state, "alice") == 1
    assert await service.unread_count(hub.state, "bob") == 1
    kinds = [(u, m["type"]) for u, m in rec.messages]
    assert kinds == [("alice", "notification.updated"), ("alice", "unread_count")]
    assert rec.messages[0][1]["notification"]["is_read"] is True
    assert rec.messages[1][1]["count"] == 1
    rec.messages.clear()
    assert await service.mark_read(hub.state, "alice", None) == [a[1]]
    assert rec.messages[0][1] == {
        "type": "notification.updated",
        "ids": [a[1]],
        "changes": {"is_read": True},
    }
    assert rec.messages[1][1] == {"type": "unread_count", "count": 0}


async def test_click_records_click_and_read_once(hub: Hub) -> None:
    nid = (await hub.send("alice", link="/billing/1"))["ids"][0]
    assert await service.click(hub.state, "bob", nid) is None
    row = await service.click(hub.state, "alice", nid)
    assert row is not None and row["is_read"] and row["clicked_at"] is not None
    first_click = row["clicked_at"]
    row = await service.click(hub.state, "alice", nid)
    assert row is not None and row["clicked_at"] == first_click
    assert await _events(hub, "clicked") == [nid, nid]
    assert await _events(hub, "read") == [nid]
    assert await service.unread_count(hub.state, "alice") == 0


async def test_archive_unarchive_delete(hub: Hub) -> None:
    ids = (await hub.send("alice"))["ids"] + (await hub.send("alice"))["ids"]
    other = (await hub.send("bob"))["ids"]
    assert await service.archive(hub.state, "alice", ids + other) == ids
    assert await service.unread_count(hub.state, "alice") == 0
    assert await service.unarchive(hub.state, "alice", [ids[0]]) == [ids[0]]
    assert await service.unread_count(hub.state, "alice") == 1
    assert await service.delete(hub.state, "alice", [ids[0], other[0]]) == [ids[0]]
    assert await service.delete(hub.state, "alice", None) == [ids[1]]
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 1
    assert await _events(hub, "archived") == ids
    assert await _events(hub, "unarchived") == [ids[0]]
    assert await _events(hub, "deleted") == ids


async def test_a_failed_event_write_undoes_the_change(
    hub: Hub, live: Recorder, monkeypatch
) -> None:
    from analytics import events

    [nid] = (await hub.send("alice"))["ids"]

    async def broken(db, evs):  # type: ignore[no-untyped-def]
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(events, "record", broken)
    rec = live
    rec.messages.clear()
    for call in (
        service.mark_read(hub.state, "alice", [nid]),
        service.archive(hub.state, "alice", [nid]),
        service.delete(hub.state, "alice", [nid]),
        service.click(hub.state, "alice", nid),
    ):
        try:
            await call
        except RuntimeError:
            pass
        else:
            raise AssertionError("expected the change to fail")
    row = await hub.db.fetch_one(
        "SELECT is_read, archived, clicked_at FROM notifications WHERE id = :id", {"id": nid}
    )
    assert row is not None and not row["is_read"] and not row["archived"]
    assert row["clicked_at"] is None
    # nothing was announced for changes that did not happen
    assert rec.messages == []


async def test_concurrent_reads_count_once(hub: Hub) -> None:
    import asyncio

    ids = (await hub.send(["alice"] * 1))["ids"] + (await hub.send("alice"))["ids"]
    results = await asyncio.gather(
        *[service.mark_read(hub.state, "alice", ids) for _ in range(4)],
        service.mark_read(hub.state, "alice", None),
    )
    # every notification changed in exactly one of the calls: one read event each
    changed = sorted(i for r in results for i in r)
    assert changed == sorted(ids)
    assert await _events(hub, "read") == sorted(ids)
