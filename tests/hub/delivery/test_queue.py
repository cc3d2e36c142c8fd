"""The delivery queue: safe claims with many workers and connections, leases after a
crash, backoff, the finish guard."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

import pytest

from hub.db import Database, now_ms
from hub.delivery import queue
from hub.delivery.base import Delivery, SendResult
from hub.delivery.worker import Worker
from tests.conftest import Hub


class CountingSender:
    channel = "email"

    def __init__(self, delay: float = 0.0, result: SendResult | None = None) -> None:
        self.sent: Counter[int] = Counter()
        self.delay = delay
        self.result = result or SendResult.ok()

    async def send(self, delivery: Delivery) -> SendResult:
        await asyncio.sleep(self.delay)
        self.sent[delivery.notification_id] += 1
        return self.result

    async def close(self) -> None:
        return None


async def seed_rows(hub: Hub, n: int) -> None:
    key = await hub.key("notify")
    users = [f"u{i}" for i in range(n)]
    r = await hub.client.post(
        "/api/notifications",
        json={"user_ids": users, "category": "general", "title": "t", "email": "x@example.com"},
        headers=key,
    )
    assert r.status_code == 201
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries") == n


async def test_concurrent_workers_on_separate_connections_send_each_row_once(
    hub: Hub, settings
) -> None:
    await seed_rows(hub, 120)
    sender = CountingSender(delay=0.001)
    # four workers, each on its own connection pool (like separate processes)
    dbs = [Database(settings.database_url) for _ in range(4)]
    for db in dbs:
        await db.connect()
    try:
        st = [SimpleNamespace(db=db, settings=settings.with_(delivery_batch_size=7)) for db in dbs]
        workers = [Worker(s, {"email": sender}) for s in st]

        async def loop(w: Worker) -> None:
            while await w.run_once():
                pass

        await asyncio.gather(*(loop(w) for w in workers))
    finally:
        for db in dbs:
            await db.disconnect()
    assert len(sender.sent) == 120 and set(sender.sent.values()) == {1}
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == 120
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'sent'") == 120


async def test_crash_mid_send_is_reclaimed_after_the_lease_and_stale_finish_is_ignored(
    hub: Hub,
) -> None:
    await seed_rows(hub, 3)
    db = hub.db
    t0 = now_ms()
    first = await queue.claim(db, 10, t0, lease_ms=1000)
    assert len(first) == 3 and {r["attempts"] for r in first} == {1}
    # "crashed" worker: nothing finishes. Before the lease ends nobody else gets them
    assert await queue.claim(db, 10, t0 + 500, lease_ms=1000) == []
    again = await queue.claim(db, 10, t0 + 1001, lease_ms=1000)
    assert sorted(r["id"] for r in again) == sorted(r["id"] for r in first)
    assert {r["attempts"] for r in again} == {2}
    # the first worker wakes up late: its outcome must not overwrite the new claim
    done = [queue.Finished(r, SendResult.fail("x", "stale"), r["created_at"]) for r in first]
    await queue.finish(db, done, t0 + 1100, 8, 1, 1)
    assert await db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'") == 3
    done = [queue.Finished(r, SendResult.ok(), r["created_at"]) for r in again]
    await queue.finish(db, done, t0 + 1200, 8, 1, 1)
    assert await db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == 3


async def test_deferred_rows_wait_for_their_time(hub: Hub) -> None:
    await seed_rows(hub, 2)
    later = now_ms() + 3_600_000
    await hub.db.execute(
        "UPDATE deliveries SET status = 'deferred', next_attempt_at = :t", {"t": later}
    )
    assert await queue.claim(hub.db, 10, now_ms(), 1000) == []
    rows = await queue.claim(hub.db, 10, later, 1000)
    assert len(rows) == 2 and {r["title"] for r in rows} == {"t"}
    assert all(r["n_created_at"] for r in rows)


async def test_sender_exceptions_and_missing_channels(sqlite_hub: Hub, caplog) -> None:
    hub = sqlite_hub

    class Broken:
        channel = "email"

        async def send(self, delivery: Delivery) -> SendResult:
            raise RuntimeError("token=SECRET in a message")

        async def close(self) -> None:
            return None

    await seed_rows(hub, 1)
    await Worker(hub.state, {"email": Broken()}).run_once()
    row = await hub.db.fetch_one("SELECT status, error_code, last_error FROM deliveries")
    assert row["status"] == "pending" and row["error_code"] == "sender_error"
    assert "SECRET" not in row["last_error"] and "SECRET" not in caplog.text
    assert "RuntimeError" in caplog.text
    await hub.db.execute("UPDATE deliveries SET next_attempt_at = 0")
    await Worker(hub.state, {}).run_once()
    row = await hub.db.fetch_one("SELECT status, error_code FROM deliveries")
    assert row == {"status": "suppressed", "error_code": "channel_unavailable"}


async def test_sender_timeout_is_transient(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    await seed_rows(hub, 1)
    hub.state.settings = hub.settings.with_(delivery_lease=0.05)
    await Worker(hub.state, {"email": CountingSender(delay=1)}).run_once()
    assert await hub.db.fetch_val("SELECT error_code FROM deliveries") == "timeout"


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    assert queue.backoff_ms(1, 5, 3600, lambda: 0.0) == 2500
    assert queue.backoff_ms(1, 5, 3600, lambda: 1.0) == 5000
    assert queue.backoff_ms(4, 5, 3600, lambda: 1.0) == 40_000
    assert queue.backoff_ms(30, 5, 3600, lambda: 1.0) == 3_600_000
    spread = {queue.backoff_ms(3, 5, 3600) for _ in range(50)}
    assert len(spread) > 10 and all(10_000 <= v <= 20_000 for v in spread)


@pytest.mark.parametrize(
    ("result", "attempts", "status", "event"),
    [
        (SendResult.ok(), 1, "sent", "sent"),
        (SendResult.ok("delivered"), 1, "delivered", "delivered"),
        (SendResult.retry("smtp_4xx", "x"), 1, "pending", "deferred"),
        (SendResult.retry("smtp_4xx", "x"), 8, "failed", "failed"),
        (SendResult.fail("bad", "x"), 1, "failed", "failed"),
        (SendResult.fail("smtp_5xx", "x", outcome="bounced"), 1, "bounced", "bounced"),
        (SendResult.suppressed("no_creds", "x"), 1, "suppressed", "suppressed"),
    ],
)
def test_decide(result: SendResult, attempts: int, status: str, event: str) -> None:
    out = queue.decide(result, attempts, 8, 1000, 1.0, 10.0, lambda: 1.0)
    assert (out.status, out.event) == (status, event)
    if status == "pending":
        assert out.retry and out.next_attempt_at == 2000


async def test_finish_writes_a_mixed_batch_and_skips_rows_claimed_again(hub: Hub) -> None:
    # Postgres finishes the batch in one UPDATE over unnested arrays; SQLite row by row
    await seed_rows(hub, 4)
    db = hub.db
    t0 = now_ms()
    rows = sorted(await queue.claim(db, 10, t0, lease_ms=1000), key=lambda r: r["id"])
    stale = dict(rows[3], attempts=0)  # an older claim of the last row: must not win
    results = [
        SendResult.ok(),
        SendResult.retry("smtp_421", "busy"),
        SendResult.fail("smtp_550", "no such user"),
    ]
    done = [queue.Finished(r, res, r["created_at"]) for r, res in zip(rows, results)]
    done.append(queue.Finished(stale, SendResult.ok(), stale["created_at"]))
    await queue.finish(db, done, t0 + 10, 8, 1, 1, rand=lambda: 0.0)
    got = {
        r["id"]: r
        for r in await db.fetch_all(
            "SELECT id, status, error_code, last_error, next_attempt_at, sent_at,"
            " updated_at FROM deliveries"
        )
    }
    sent, retry, failed, untouched = (got[r["id"]] for r in rows)
    assert (sent["status"], sent["sent_at"], sent["error_code"]) == ("sent", t0 + 10, None)
    assert (retry["status"], retry["error_code"], retry["last_error"]) == (
        "pending",
        "smtp_421",
        "busy",
    )
    assert retry["next_attempt_at"] == t0 + 10 + 500 and retry["sent_at"] is None
    assert (failed["status"], failed["error_code"], failed["sent_at"]) == (
        "failed",
        "smtp_550",
        None,
    )
    assert untouched["status"] == "sending" and untouched["updated_at"] == t0
    ids = [r["notification_id"] for r in rows[:3]]
    events = {
        e["notification_id"]: e["event"]
        for e in await db.fetch_all("SELECT notification_id, event FROM outbox")
        if e["event"] != "created" and e["notification_id"] in ids
    }
    assert [events[i] for i in ids] == ["sent", "deferred", "failed"]


async def test_run_records_a_batch_while_sending_the_next(hub: Hub) -> None:
    await seed_rows(hub, 6)
    hub.state.settings = hub.settings.with_(delivery_batch_size=2, delivery_poll_interval=0.01)
    sender = CountingSender()
    worker = Worker(hub.state, {"email": sender})
    second_batch_sending = asyncio.Event()
    waited: list[bool] = []
    real_finish = worker.finish

    async def send(delivery: Delivery) -> SendResult:
        if sum(sender.sent.values()) >= 2:
            second_batch_sending.set()
        return await CountingSender.send(sender, delivery)

    async def finish(done: list[queue.Finished]) -> None:
        if not waited:  # the first batch's outcomes wait until the next batch is out
            try:
                await asyncio.wait_for(second_batch_sending.wait(), timeout=5)
                waited.append(True)
            except TimeoutError:
                waited.append(False)
        await real_finish(done)

    sender.send = send  # type: ignore[method-assign]
    worker.finish = finish  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(500):
        if await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == 6:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)  # returns once the last batch is recorded
    assert waited == [True]
    assert len(sender.sent) == 6 and set(sender.sent.values()) == {1}
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == 6
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'sent'") == 6
