"""Start/stop of the live fan-out inside the app lifespan (``app.state.fanout``)."""

from __future__ import annotations

from starlette.applications import Starlette

from hub.realtime.fanout import Fanout
from hub.settings import Settings


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


async def start_publisher(settings: Settings) -> Fanout | None:
    """A fan-out for a process that only publishes (``hub worker``), or None.

    With ``redis://`` its messages reach every ``hub serve`` process; with
    ``memory://`` another process cannot be reached, so there is nothing to start.
    Set the result as ``state.fanout`` and ``await fanout.stop()`` at the end.
    """
    if settings.broadcast_url.startswith("memory"):
        return None
    fanout = Fanout(settings)
    await fanout.start()
    return fanout
