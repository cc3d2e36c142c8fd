"""Group commit for POST /api/notifications: concurrent sends share one transaction.

Writing each send in its own transaction costs a pool checkout, BEGIN, an insert,
four planner reads, COMMIT (an fsync) and a Redis round trip: about ten round
trips per notification, which kept one process under 400 sends/s. Here the sends
that arrive while MAX_IN_FLIGHT batches are being written wait for one of them to
finish (or, when fewer are, for the end of the current event-loop pass) and are
then written together: one multi-row insert of notifications and outbox events,
one planner pass over all of them, one COMMIT and one pipelined publish. Under
load batches grow by themselves; an idle hub adds no waiting.

Semantics stay those of one transaction per send:
- each caller gets exactly its own rows; a send's rows are all or nothing;
- if the batch fails before COMMIT (nothing of it was written), every send is
  retried alone, so only a send that fails by itself fails;
- if COMMIT itself fails, its outcome is unknown, and every caller gets the
  error (as a lone send would) rather than a retry that could duplicate.
Sends with an idempotency key, or to many recipients, do not come here (see
``service.send``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hub.delivery import planner
from hub.notifications import store
from hub.realtime.publish import LiveMessage, publish

log = logging.getLogger("hub.notifications")

Rows = list[dict[str, Any]]
# How one send is written alone (the retry after a failed batch): draft, extra -> rows
WriteOne = Callable[[store.Draft, dict[str, Any]], Awaitable[Rows]]
Messages = Callable[[Rows], list[LiveMessage]]

# Batches written at once. One would make each batch as large as possible, but under
# load every query of a batch waits a whole event-loop pass (all the requests parsed
# meanwhile) for its answer, so one batch in flight capped the bench near 1,250/s with
# the process half idle; three overlap those waits (measured: 1,880/s, CPU-bound).
MAX_IN_FLIGHT = 3


class CommitFailed(Exception):
    """COMMIT of a batch raised: the batch may or may not be durable."""


@dataclass
class _Pending:
    draft: store.Draft
    extra: dict[str, Any]
    future: asyncio.Future[Rows] = field(repr=False)


class SendBatcher:
    """One per process (``service._batcher``); ``submit`` returns the send's rows."""

    def __init__(
        self, state: Any, write_one: WriteOne, messages: Messages, max_batch: int = 200
    ) -> None:
        self.state = state
        self.write_one = write_one
        self.messages = messages
        self.max_batch = max(1, max_batch)
        self._pending: list[_Pending] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        # counters for tests and status: batches written, sends in them, fallbacks
        self.batches = 0
        self.sends = 0
        self.fallbacks = 0

    async def submit(self, draft: store.Draft, extra: dict[str, Any]) -> Rows:
        loop = asyncio.get_running_loop()
        item = _Pending(draft, extra, loop.create_future())
        self._pending.append(item)
        if len(self._pending) >= self.max_batch and self._in_flight < MAX_IN_FLIGHT:
            self._flush()
        elif not self._scheduled and self._in_flight < MAX_IN_FLIGHT:
            # at the end of this loop pass: every request parsed in the same pass
            # (several sockets were readable) joins this batch
            self._scheduled = True
            loop.call_soon(self._flush)
        # A cancelled caller (client gone) cancels only its own future, never the
        # batch (a task of its own, which skips futures already done): its rows are
        # written all the same, as a lone send already past its INSERT would be.
        return await item.future

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._in_flight >= MAX_IN_FLIGHT:
            return
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        # what arrived meanwhile goes now: the next batch starts as this one ends
        if self._pending:
            self._flush()

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            try:
                results = await self._write(batch)
            except CommitFailed as exc:
                cause = exc.__cause__ or exc
                log.error("batch commit failed (%d sends): %r", len(batch), cause)
                for item in batch:
                    _fail(item, cause)
                return
            except Exception as exc:  # noqa: BLE001 - retried one by one below
                log.warning(
                    "batch of %d sends failed (%s); writing them one by one",
                    len(batch),
                    type(exc).__name__,
                )
                self.fallbacks += 1
                await asyncio.gather(*(self._alone(item) for item in batch))
                return
            self.batches += 1
            self.sends += len(batch)
            await publish(self.state, [m for rows in results for m in self.messages(rows)])
            for item, rows in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(rows)
        except BaseException as exc:
            # cancelled (shutdown) or a bug: no caller may wait forever
            for item in batch:
                _fail(item, exc if isinstance(exc, Exception) else RuntimeError("shutdown"))
            raise

    async def _write(self, batch: list[_Pending]) -> list[Rows]:
        db = self.state.db
        written = False
        try:
            async with db.transaction():
                results = await store.insert_batch(db, [item.draft for item in batch])
                await planner.enqueue_many(
                    self.state,
                    [(rows, item.extra) for item, rows in zip(batch, results, strict=True)],
                )
                written = True
        except Exception as exc:
            if written:  # only COMMIT can fail after this point
                raise CommitFailed() from exc
            raise
        return results

    async def _alone(self, item: _Pending) -> None:
        try:
            rows = await self.write_one(item.draft, item.extra)
        except Exception as exc:  # noqa: BLE001 - this send's own failure, for its caller
            _fail(item, exc)
        else:
            if not item.future.done():
                item.future.set_result(rows)


def _fail(item: _Pending, exc: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(exc)
