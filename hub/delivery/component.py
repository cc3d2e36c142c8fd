"""Start/stop of delivery inside the app lifespan.

The senders are always built (``app.state.senders``: the test-email endpoint
uses them); the worker pool runs only when HUB_RUN_WORKERS is on
(``app.state.delivery_workers``).
"""

from __future__ import annotations

from starlette.applications import Starlette

from hub.delivery.senders import build_senders, close_senders
from hub.delivery.worker import WorkerPool


async def start(app: Starlette) -> None:
    state = app.state
    state.senders = build_senders(state)
    state.delivery_workers = None
    if state.settings.run_workers:
        pool = WorkerPool(state, max(1, state.settings.delivery_workers))
        await pool.start(state.senders)
        state.delivery_workers = pool


async def stop(app: Starlette) -> None:
    state = app.state
    pool = getattr(state, "delivery_workers", None)
    if pool is not None:
        await pool.stop()
        state.delivery_workers = None
    await close_senders(getattr(state, "senders", {}) or {})
    state.senders = {}
