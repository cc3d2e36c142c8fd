"""The one call the rest of the hub makes to push something live.

Called after the transaction that made the change has committed, so a client
never hears of a row it cannot read yet. The fan-out backend lives on
``app.state.fanout`` (see ``hub/realtime/fanout.py``); without one (tests
that do not start it), publishing is a no-op.
"""

from __future__ import annotations

from typing import Any

LiveMessage = tuple[str, dict[str, Any]]  # (user id, message with a "type")


async def publish(state: Any, messages: list[LiveMessage]) -> None:
    fanout = getattr(state, "fanout", None)
    if fanout is None or not messages:
        return
    await fanout.publish_many(messages)
