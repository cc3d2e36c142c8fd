"""Start/stop of the live fan-out inside the app lifespan (``app.state.fanout``)."""

from __future__ import annotations

from starlette.applications import Starlette

from hub.realtime.fanout import Fanout


async def start(app: Starlette) -> None:
    fanout = Fanout(app.state.settings)
    await fanout.start()
    app.state.fanout = fanout


async def stop(app: Starlette) -> None:
    fanout = getattr(app.state, "fanout", None)
    if fanout is None:
        return
    try:
        await fanout.stop()
    finally:
        app.state.fanout = None
