"""Turns new notifications into delivery rows, inside the creating transaction.

The foundation only stores in-app notifications; the delivery issue fills this
in with preference routing and the durable delivery queue.
"""

from __future__ import annotations

from typing import Any


async def enqueue(state: Any, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Plan deliveries for `rows` (new notifications); `extra` holds e.g. an email override."""
    return None
