"""Start/stop of this part of the hub inside the app lifespan."""

from __future__ import annotations

from starlette.applications import Starlette


async def start(app: Starlette) -> None:
    return None


async def stop(app: Starlette) -> None:
    return None
