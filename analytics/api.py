"""Routes of this part of the hub."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
