"""Delivery workers: claim due rows, send them through the channel's sender, record outcomes.

`Worker.run_once()` is one step (claim a batch, send it concurrently, finish it
in one transaction); `Worker.run()` loops until asked to stop and, every
``HUB_DIGEST_INTERVAL`` seconds, also turns due digests into emails. `hub serve`
runs ``HUB_DELIVERY_WORKERS`` of them in-process (hub/delivery/component.py);
`hub worker` runs them alone through `run_standalone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from types import SimpleNamespace
from typing import Any

from hub.db import Database, now_ms
from hub.delivery import digest, queue, suppressions
from hub.delivery.base import Delivery, Sender, SendResult
from hub.delivery.senders import build_senders, close_senders
from hub.settings import Settings

log = logging.getLogger("hub.delivery.worker")

SEND_CONCURRENCY = 64  # sends in flight per worker


def to_delivery(row: dict[str, Any]) -> Delivery:
    """A claimed row (with its notification's columns) as the senders see it."""
    extra = json.loads(row["extra"]) if row.get("extra") else {}
    data = row.get("data")
    if isinstance(data, str):
        data = json.loads(data)
    return Delivery(
        id=row["id"],
        notification_id=row["notification_id"] or 0,
        user_id=row["user_id"],
        channel=row["channel"],
        attempts=row["attempts"] - 1,
        category=row["category"],
        title=row.get("title") or "",
        body=row.get("body") or "",
        link=row.get("link"),
        priority=row["priority"],
        data=data,
        address=row["address"],
        extra=extra,
    )


class Worker:
    def __init__(self, state: Any, senders: dict[str, Sender], name: str = "worker") -> None:
        self.state = state
        self.senders = senders
        self.name = name
        self._sem = asyncio.Semaphore(SEND_CONCURRENCY)
        self._next_digest = 0.0

    @property
    def settings(self) -> Settings:
        return self.state.settings

    async def _send(self, delivery: Delivery, suppressed: set[str]) -> SendResult:
        if delivery.channel == "email" and delivery.address:
            if delivery.address.lower() in suppressed:
                return SendResult.suppressed("address_suppressed", "the address bounced before")
        sender = self.senders.get(delivery.channel)
        if sender is None:
            return SendResult.suppressed(
                "channel_unavailable", f"no {delivery.channel} sender is configured"
            )
        async with self._sem:
            try:
                # never outlive the lease: past it another worker may send the row too
                async with asyncio.timeout(self.settings.delivery_lease * 0.8):
                    return await sender.send(delivery)
            except TimeoutError:
                return SendResult.retry("timeout", "the sender did not answer in time")
            except Exception as exc:  # noqa: BLE001 - a sender bug must not kill the worker
                # the type only: exception texts can carry URLs with tokens in them
                log.error(
                    "%s sender raised %s on delivery %s",
                    delivery.channel,
                    type(exc).__name__,
                    delivery.id,
                )
                log.debug("sender traceback", exc_info=True)
                return SendResult.retry("sender_error", type(exc).__name__)

    async def run_once(self) -> int:
        """Claim, send and finish one batch; returns the number of rows handled."""
        done = await self.claim_and_send()
        await self.finish(done)
        return len(done)

    async def claim_and_send(self) -> list[queue.Finished]:
        """Claim a batch and send it concurrently; the outcomes are not recorded yet."""
        s = self.settings
        db = self.state.db
        rows = await queue.claim(db, s.delivery_batch_size, now_ms(), int(s.delivery_lease * 1000))
        if not rows:
            return []
        deliveries = [to_delivery(r) for r in rows]
        suppressed = await suppressions.suppressed_addresses(
            db, [d.address for d in deliveries if d.channel == "email" and d.address]
        )
        results = await asyncio.gather(*(self._send(d, suppressed) for d in deliveries))
        return [
            queue.Finished(row, result, row.get("n_created_at") or row["created_at"])
            for row, result in zip(rows, results, strict=True)
        ]

    async def finish(self, done: list[queue.Finished]) -> None:
        s = self.settings
        await queue.finish(
            self.state.db,
            done,
            now_ms(),
            s.delivery_max_attempts,
            s.delivery_backoff_base,
            s.delivery_backoff_max,
        )

    async def collect_digests(self) -> list[int]:
        return await digest.collect_due(self.state.db, now_ms())

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; errors are logged and retried after a pause.

        A batch's outcomes are recorded while the next batch is claimed and sent
        (at most one finish in flight): the worker's sends do not wait for that
        transaction. Until it commits its rows stay `sending` under their lease, so
        no other worker takes them; if it fails they are sent again after the lease.
        """
        poll = self.settings.delivery_poll_interval
        finishing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= self._next_digest:
                        self._next_digest = time.monotonic() + self.settings.digest_interval
                        await self.collect_digests()
                    done = await self.claim_and_send()
                    if finishing is not None:
                        await self._settle(finishing)
                    finishing = asyncio.create_task(self.finish(done)) if done else None
                    handled = len(done)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: delivery step failed; retrying", self.name)
                    handled = 0
                if handled == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=poll)
        finally:
            if finishing is not None:
                await self._settle(finishing)

    async def _settle(self, finishing: asyncio.Task[None]) -> None:
        """Wait for a batch's outcomes to be recorded; a failure is logged, not raised."""
        try:
            await finishing
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "%s: recording a batch failed; it is sent again after its lease", self.name
            )


class WorkerPool:
    """N workers sharing one set of senders, started and stopped together."""

    def __init__(self, state: Any, count: int) -> None:
        self.state = state
        self.count = count
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.senders: dict[str, Sender] = {}

    async def start(self, senders: dict[str, Sender] | None = None) -> None:
        self.senders = senders if senders is not None else build_senders(self.state)
        for i in range(self.count):
            worker = Worker(self.state, self.senders, name=f"worker-{i}")
            self.tasks.append(asyncio.create_task(worker.run(self.stop_event), name=worker.name))
        log.info("delivery workers started: %d (channels: %s)", self.count, sorted(self.senders))

    async def stop(self, grace: float = 10.0) -> None:
        """Let each worker finish its batch (rows mid-send are re-claimed after the lease
        if we must cancel)."""
        self.stop_event.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.tasks.clear()


async def run_standalone(settings: Settings) -> int:
    """`hub worker`: delivery workers (and the analytics ingester) until SIGINT/SIGTERM."""
    db = Database(settings.database_url)
    await db.connect()
    try:
        if settings.migrate_on_start:
            await db.migrate()
        state = SimpleNamespace(db=db, settings=settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
        # live messages from workers (delivery status, digests) reach every
        # `hub serve` process over redis://; on memory:// there is nobody to reach
        from hub.realtime.component import start_publisher

        state.fanout = await start_publisher(settings)
        senders = build_senders(state)
        state.senders = senders
        pool = WorkerPool(state, max(1, settings.delivery_workers))
        await pool.start(senders)
        ingester = _start_ingester(state, stop)
        log.info("hub worker running; SIGINT/SIGTERM stops it")
        try:
            await stop.wait()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await pool.stop()
            if ingester is not None:
                stop.set()
                await asyncio.gather(ingester, return_exceptions=True)
            await close_senders(senders)
            if state.fanout is not None:
                await state.fanout.stop()
    finally:
        await db.disconnect()
    return 0


def _start_ingester(state: Any, stop: asyncio.Event) -> asyncio.Task[Any] | None:
    """The analytics ingester, when that part provides `run_ingester(state, stop)`."""
    if not state.settings.analytics_url:
        return None
    from analytics.ingest import run_ingester

    return asyncio.create_task(run_ingester(state, stop), name="ingester")
