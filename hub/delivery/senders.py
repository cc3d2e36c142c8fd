"""The registry of channel senders: one `Sender` per channel, built from settings.

Each channel names a factory ``"module:function"``; the function takes the app
state (``state.settings``, ``state.db``) and returns a Sender, or None when the
channel is not configured. A channel whose module is missing or whose factory
returns None has no sender: the worker marks its deliveries ``suppressed`` with
``error_code="channel_unavailable"`` instead of failing them.

To add a channel, add one line to CHANNEL_FACTORIES.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from hub.delivery.base import Sender

log = logging.getLogger("hub.delivery")

CHANNEL_FACTORIES: dict[str, str] = {
    "email": "hub.delivery.email:build_sender",
    "push": "hub.delivery.push:build_sender",
    "webhook": "hub.delivery.webhook:build_sender",
    "chat": "hub.delivery.chat:build_sender",
    "sms": "hub.delivery.chat:build_sms_sender",
}


def load_factory(spec: str) -> Any | None:
    """The factory function named by ``module:function``, or None if it does not exist."""
    module_name, _, func_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # only "this channel's module is not there"; a broken import inside it must surface
        if exc.name != module_name:
            raise
        return None
    return getattr(module, func_name, None)


def build_senders(state: Any) -> dict[str, Sender]:
    """One sender per configured channel."""
    senders: dict[str, Sender] = {}
    for channel, spec in CHANNEL_FACTORIES.items():
        factory = load_factory(spec)
        if factory is None:
            log.info("delivery channel %s: no sender available", channel)
            continue
        sender = factory(state)
        if sender is not None:
            senders[channel] = sender
    return senders


async def close_senders(senders: dict[str, Sender]) -> None:
    for channel, sender in senders.items():
        try:
            await sender.close()
        except Exception:
            log.exception("error closing %s sender", channel)
