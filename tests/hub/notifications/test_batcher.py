"""Group commit of POST /api/notifications (hub/notifications/batcher.py): concurrent
sends share a transaction, yet each lands exactly once, each caller gets its own
rows, and one bad send fails alone. On SQLite and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.notifications.batcher import SendBatcher
from hub.preferences import store as prefstore
from hub.preferences.routing import Preference
from hub.users import store as users
from tests.conftest import Hub, make_settings, start_hub
from tests.hub.notifications.conftest import Recorder


def _batcher(hub: Hub) -> SendBatcher:
    found = getattr(hub.state, "send_batcher", None)
    assert isinstance(found, SendBatcher), "no send went through the batcher"
    return found


async def _post_all(hub: Hub, bodies: list[dict[str, Any]]) -> list[Any]:
    """POST every body at once (one task each, as concurrent producers would)."""
    headers = await hub.key("notify")

    async def one(body: dict[str, Any]) -> Any:
        return await hub.client.post("/api/notifications", json=body, headers=headers)

    return await asyncio.gather(*(one(b) for b in bodies), return_exceptions=True)


def _recipients(body: dict[str, Any]) -> list[str]:
    return body["user_ids"] if "user_ids" in body else [body["user_id"]]


async def test_concurrent_sends_land_once_each_with_its_own_rows(hub: Hub, live: Recorder) -> None:
    for i in range(8):
        await users.upsert(hub.db, f"u{i}", {"email": f"u{i}@example.com"})
    await prefstore.save_user(hub.db, "u3", {"promo": Preference(enabled=False)})
    bodies: list[dict[str, Any]] = []
    for i in range(40):
        body: dict[str, Any] = {
            "category": "promo" if i % 3 == 0 else "news",
            "title": f"t{i}",
            "body": f"b{i}",
            "data": {"n": i},
            "priority": "high" if i % 5 == 0 else "normal",
        }
        if i % 4 == 0:
            body["user_ids"] = [f"u{i % 8}", f"u{(i + 3) % 8}", "nobody"]
        else:
            body["user_id"] = f"u{i % 8}"
        if i % 7 == 0:
            body["email"] = f"override{i}@example.com"
        bodies.append(body)

    answers = await _post_all(hub, bodies)

    all_ids: list[int] = []
    for body, r in zip(bodies, answers, strict=True):
        assert not isinstance(r, BaseException), r
        assert r.status_code == 201, r.text
        got = r.json()["notifications"]
        assert [n["user_id"] for n in got] == _recipients(body)
        for n in got:
            assert (n["title"], n["body"], n["data"]) == (body["title"], body["body"], body["data"])
            assert (n["category"], n["priority"]) == (body["category"], body["priority"])
        all_ids += [n["id"] for n in got]
    assert len(all_ids) == len(set(all_ids)) == sum(len(_recipients(b)) for b in bodies)

    # the database holds each exactly once, with the values of its own request
    rows = await hub.db.fetch_all(
        "SELECT id, user_id, title, body, data, priority, category FROM notifications"
    )
    assert sorted(r["id"] for r in rows) == sorted(all_ids)
    by_id = {r["id"]: r for r in rows}
    for body, r in zip(bodies, answers, strict=True):
        for n in r.json()["notifications"]:
            row = by_id[n["id"]]
            assert row["user_id"] == n["user_id"]
            assert (row["title"], row["body"], json.loads(row["data"])) == (
                body["title"],
                body["body"],
                body["data"],
            )
            assert (row["category"], row["priority"]) == (body["category"], body["priority"])
    created = await hub.db.fetch_all("SELECT notification_id FROM outbox WHERE event = 'created'")
    assert sorted(r["notification_id"] for r in created) == sorted(all_ids)

    # delivery plans as one send alone would make them: the request's email
    # override or the profile's address; none where the user disabled the category
    expected = set()
    for body, r in zip(bodies, answers, strict=True):
        for n in r.json()["notifications"]:
            uid = n["user_id"]
            address = body.get("email") or (None if uid == "nobody" else f"{uid}@example.com")
            if address is None or (uid == "u3" and body["category"] == "promo"):
                continue
            expected.add((n["id"], uid, address))
    planned = await hub.db.fetch_all(
        "SELECT notification_id, user_id, address FROM deliveries WHERE channel = 'email'"
    )
    assert {(d["notification_id"], d["user_id"], d["address"]) for d in planned} == expected

    # one live message per notification, to its own user
    sent = Counter(
        (uid, m["notification"]["id"])
        for uid, m in live.messages
        if m["type"] == "notification.created"
    )
    assert sent == Counter((uid, nid) for nid, uid in ((r["id"], r["user_id"]) for r in rows))

    batcher = _batcher(hub)
    assert batcher.sends == len(bodies) and batcher.fallbacks == 0
    assert batcher.batches < len(bodies), "concurrent sends were not grouped"


@contextlib.asynccontextmanager
async def _reject_user(hub: Hub, user_id: str) -> AsyncIterator[None]:
    """A real database failure for one recipient: a trigger refusing its rows."""
    if hub.db.is_postgres:
        await hub.db.execute(
            "CREATE OR REPLACE FUNCTION reject_user() RETURNS trigger AS $$ BEGIN"
            f" IF NEW.user_id = '{user_id}' THEN RAISE EXCEPTION 'rejected'; END IF;"
            " RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        await hub.db.execute(
            "CREATE TRIGGER reject_user BEFORE INSERT ON notifications"
            " FOR EACH ROW EXECUTE FUNCTION reject_user()"
        )
    else:
        await hub.db.execute(
            "CREATE TRIGGER reject_user BEFORE INSERT ON notifications"
            f" WHEN NEW.user_id = '{user_id}' BEGIN SELECT RAISE(ABORT, 'rejected'); END"
        )
    try:
        yield
    finally:
        await hub.db.execute(
            "DROP TRIGGER reject_user" + (" ON notifications" if hub.db.is_postgres else "")
        )
        if hub.db.is_postgres:
            await hub.db.execute("DROP FUNCTION reject_user()")


async def test_one_bad_send_fails_alone(hub: Hub, live: Recorder) -> None:
    bodies: list[dict[str, Any]] = [
        {"user_id": f"ok{i}", "category": "c", "title": f"t{i}"} for i in range(20)
    ]
    bodies[7] = {"user_id": "boom", "category": "c", "title": "bad"}
    # all or nothing: the good recipient of a send with a bad one gets nothing either
    bodies[13] = {"user_ids": ["ok-too", "boom"], "category": "c", "title": "half"}
    async with _reject_user(hub, "boom"):
        answers = await _post_all(hub, bodies)
    failed = [
        i for i, r in enumerate(answers) if isinstance(r, BaseException) or r.status_code >= 500
    ]
    assert failed == [7, 13]
    titles = Counter(r["title"] for r in await hub.db.fetch_all("SELECT title FROM notifications"))
    assert titles == Counter(b["title"] for i, b in enumerate(bodies) if i not in (7, 13))
    created = await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'created'")
    assert created == 18
    assert len(live.messages) == 18
    assert _batcher(hub).fallbacks >= 1


async def test_commit_failure_is_not_retried(
    hub: Hub, live: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COMMIT raising leaves the outcome unknown: callers get the error, and no send is
    written a second time by a retry."""
    real = hub.db.transaction

    @contextlib.asynccontextmanager
    async def commit_then_fail() -> AsyncIterator[None]:
        async with real():
            yield
        raise ConnectionError("lost the connection during COMMIT")

    monkeypatch.setattr(hub.db, "transaction", commit_then_fail)
    bodies = [{"user_id": f"u{i}", "category": "c", "title": f"t{i}"} for i in range(10)]
    answers = await _post_all(hub, bodies)
    monkeypatch.undo()
    assert all(isinstance(r, ConnectionError) for r in answers), answers
    # committed once (the failure came after), never twice
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 10
    assert _batcher(hub).fallbacks == 0 and live.messages == []


async def test_idempotent_and_plain_sends_together(hub: Hub) -> None:
    """Sends with an idempotency key keep their own transaction: concurrent retries of
    one key create it once, beside grouped sends."""
    bodies: list[dict[str, Any]] = []
    for i in range(12):
        bodies.append({"user_id": "a", "category": "c", "title": f"plain{i}"})
        bodies.append({"user_id": "a", "category": "c", "title": "keyed", "idempotency_key": "k1"})
    answers = await _post_all(hub, bodies)
    assert all(not isinstance(r, BaseException) and r.status_code in (200, 201) for r in answers)
    keyed = {
        r.json()["ids"][0] for b, r in zip(bodies, answers, strict=True) if "idempotency_key" in b
    }
    assert len(keyed) == 1
    n = await hub.db.fetch_val("SELECT COUNT(*) FROM notifications WHERE title = 'keyed'")
    assert n == 1
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 13


@pytest.mark.parametrize("max_batch", [0, 3])
async def test_batch_size_setting(db_url: str, tmp_path: Path, max_batch: int) -> None:
    settings = make_settings(db_url, tmp_path, send_batch_max=max_batch)
    async for hub in start_hub(settings):
        bodies = [{"user_id": f"u{i}", "category": "c", "title": f"t{i}"} for i in range(10)]
        answers = await _post_all(hub, bodies)
        assert [r.status_code for r in answers] == [201] * 10
        assert await hub.db.fetch_val("SELECT COUNT(*) FROM notifications") == 10
        batcher = getattr(hub.state, "send_batcher", None)
        if max_batch == 0:
            assert batcher is None
        else:
            assert batcher is not None and batcher.sends == 10 and batcher.batches >= 4


async def test_a_cancelled_caller_leaves_the_batch_and_its_row_alone(
    hub: Hub, live: Recorder
) -> None:
    """A producer that hangs up cancels only its own wait: the batch it joined still
    writes and publishes every send, and the others get their rows."""
    from hub.notifications import service
    from hub.notifications.models import NotificationIn

    async def one(i: int) -> Any:
        payload = NotificationIn(user_id=f"u{i}", category="c", title=f"t{i}")
        return await service.send(hub.state, payload, None, batch=True)

    tasks = [asyncio.create_task(one(i)) for i in range(6)]
    await asyncio.sleep(0)  # every send has joined the pending batch
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    for i, got in enumerate(results):
        if i != 2:
            rows, replayed = got
            assert [r["user_id"] for r in rows] == [f"u{i}"] and not replayed
    titles = await hub.db.fetch_all("SELECT title FROM notifications ORDER BY title")
    assert [r["title"] for r in titles] == [f"t{i}" for i in range(6)]
    assert sorted(u for u, _ in live.messages) == [f"u{i}" for i in range(6)]


async def test_the_answer_shows_the_notification_the_live_message_carried(
    hub: Hub, live: Recorder
) -> None:
    """The API answer reuses what the live message rendered: the same notification."""
    from hub.notifications.models import to_json

    body = {"user_id": "ann", "category": "c", "title": "same", "data": {"k": [1, "é"]}}
    [r] = await _post_all(hub, [body])
    assert r.status_code == 201
    [answered] = r.json()["notifications"]
    [(user, message)] = live.messages
    assert user == "ann" and message["notification"] == answered
    row = await hub.db.fetch_one(
        "SELECT * FROM notifications WHERE id = :id", {"id": answered["id"]}
    )
    assert to_json(dict(row)) == answered  # type: ignore[arg-type]
    assert "é" in r.text  # not \u-escaped, as JSONResponse renders it
