"""Digests: daily/weekly notifications gathered into one email at the user's hour, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.db import Database, now_ms
from hub.delivery import digest
from tests.conftest import Hub
from tests.hub.delivery.conftest import SmtpServer, drain, profile


async def test_daily_digest_collected_once_and_sent_as_one_email(
    mail_hub: Hub, smtp: SmtpServer, settings
) -> None:
    hub = mail_hub
    await profile(hub, "alice", email="alice@example.com", timezone="Europe/Berlin")
    await hub.send("alice", category="social", title="first")
    r = await hub.client.put(
        "/api/notifications/preferences",
        json=[{"category": "*", "frequency": "daily", "delivery_methods": ["in_app", "email"]}],
        headers=hub.user("alice"),
    )
    assert r.status_code == 200
    await hub.db.execute("DELETE FROM deliveries")
    for i in range(3):
        await hub.send("alice", category="social", title=f"digest item {i}", link=f"/p/{i}")
    rows = await hub.db.fetch_all(
        "SELECT status, digest_period, next_attempt_at, reason FROM deliveries"
    )
    assert len(rows) == 3
    assert {(r["status"], r["digest_period"], r["reason"]) for r in rows} == {
        ("deferred", "daily", "digest_daily")
    }
    due = datetime.fromtimestamp(rows[0]["next_attempt_at"] / 1000, UTC)
    local = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (9, 0) and due > datetime.now(UTC)
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'deferred'") == 3
    # not due yet: nothing to collect, and the queue does not send them
    assert await digest.collect_due(hub.db, now_ms()) == []
    assert await drain(hub) == 0
    # time passes: three workers on their own connections race for the digest
    await hub.db.execute("UPDATE deliveries SET next_attempt_at = :t", {"t": now_ms() - 1000})
    dbs = [Database(settings.database_url) for _ in range(3)]
    for db in dbs:
        await db.connect()
    try:
        made = await asyncio.gather(*(digest.collect_due(db, now_ms()) for db in dbs))
    finally:
        for db in dbs:
            await db.disconnect()
    assert sum(len(m) for m in made) == 1
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM digests") == 1
    await drain(hub)
    (msg,) = smtp.to("alice@example.com")
    assert msg["Subject"] == "Your daily digest: 3 notifications"
    assert msg["X-Hub-Template"] == "daily_digest"
    text = msg.get_body(("plain",)).get_content()
    for i in range(3):
        assert f"digest item {i}" in text and f"/p/{i}" in text
    html = msg.get_body(("html",)).get_content()
    assert "digest item 2" in html
    statuses = await hub.db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status ORDER BY status"
    )
    assert statuses == [{"status": "sent", "n": 4}]  # 3 items + the digest email
    sent = await hub.db.fetch_all(
        "SELECT notification_id, channel FROM outbox WHERE event = 'sent' ORDER BY id"
    )
    assert len(sent) == 3 and {s["channel"] for s in sent} == {"email"}
    assert all(s["notification_id"] for s in sent)
    # collecting again finds nothing; no second email
    assert await digest.collect_due(hub.db, now_ms()) == []
    await drain(hub)
    assert len(smtp.to("alice@example.com")) == 1


async def test_late_items_get_their_own_digest(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    await profile(hub, "bob", email="bob@example.com")
    await hub.send("bob", category="news", title="x")
    await hub.client.put(
        "/api/notifications/preferences",
        json=[{"category": "news", "frequency": "weekly"}],
        headers=hub.user("bob"),
    )
    await hub.db.execute("DELETE FROM deliveries")
    await hub.send("bob", category="news", title="on time")
    due = await hub.db.fetch_val("SELECT next_attempt_at FROM deliveries")
    assert datetime.fromtimestamp(due / 1000, UTC).weekday() == 0  # Monday, 09:00 UTC
    await hub.db.execute("UPDATE deliveries SET next_attempt_at = 1000")
    (first,) = await digest.collect_due(hub.db, now_ms())
    # a row for the same (user, period, due) arrives after the digest was made
    await hub.send("bob", category="news", title="late")
    await hub.db.execute(
        "UPDATE deliveries SET next_attempt_at = 1000 WHERE digest_period IS NOT NULL"
        " AND digest_delivery_id IS NULL"
    )
    assert await digest.collect_due(hub.db, now_ms()) == []  # moved aside
    (second,) = await digest.collect_due(hub.db, now_ms())
    assert second != first
    carried = await hub.db.fetch_val(
        "SELECT COUNT(*) FROM deliveries WHERE digest_delivery_id = :d", {"d": second}
    )
    assert carried == 1


async def test_digest_failure_fails_its_items_and_retry_restores_them(sqlite_hub: Hub) -> None:
    from hub.delivery import dead_letters, queue
    from hub.delivery.base import SendResult

    hub = sqlite_hub
    await profile(hub, "cy", email="cy@example.com")
    await hub.send("cy", category="news", title="x")
    await hub.client.put(
        "/api/notifications/preferences",
        json=[{"category": "news", "frequency": "daily"}],
        headers=hub.user("cy"),
    )
    await hub.db.execute("DELETE FROM deliveries")
    await hub.send("cy", category="news", title="y")
    await hub.db.execute("UPDATE deliveries SET next_attempt_at = 1000")
    (digest_id,) = await digest.collect_due(hub.db, now_ms())
    rows = await queue.claim(hub.db, 10, now_ms(), 1000)
    await queue.finish(
        hub.db, [queue.Finished(rows[0], SendResult.fail("x", "no"), 0)], now_ms(), 3, 1, 1
    )
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'failed'") == 2
    await dead_letters.retry(hub.db, digest_id, now_ms())
    item = await hub.db.fetch_one(
        "SELECT status FROM deliveries WHERE digest_delivery_id = :d", {"d": digest_id}
    )
    assert item == {"status": "deferred"}
