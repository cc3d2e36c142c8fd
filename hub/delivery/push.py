"""The `push` channel: every device of the user, APNs for iOS, FCM for Android and web.

One delivery fans out to the user's devices and comes back as one SendResult
(`aggregate`, a pure function). Tokens the services report dead are removed.
A platform without credentials is `suppressed` with the reason, not failed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.db import Database, Row
from hub.delivery.apns import APNsClient
from hub.delivery.base import Delivery, SendResult
from hub.delivery.device_result import DeviceResult
from hub.delivery.fcm import FCMClient
from hub.devices import store
from hub.settings import Settings

log = logging.getLogger("hub.delivery.push")


def aggregate(results: list[DeviceResult]) -> SendResult:
    """One outcome for a delivery from the outcome on each device.

    Any device reached means the delivery was sent: retrying would push again
    to the devices that already got it. Otherwise a transient failure on any
    device is retried; only permanent failures everywhere fail it.
    """
    if not results:
        return SendResult.suppressed("no_devices", "the user has no push devices")
    ok = [r for r in results if r.ok]
    dead = [r for r in results if r.dead]
    failed = [r for r in results if not r.ok and not r.unconfigured]
    info: dict[str, Any] = {"devices": len(results), "sent": len(ok), "removed_tokens": len(dead)}
    if failed:
        info["errors"] = sorted({r.code or "unknown" for r in failed})
    if ok:
        return SendResult(outcome="sent", info=info)
    if not failed:
        platforms = sorted({r.platform for r in results})
        return SendResult(
            outcome="suppressed",
            error_code="no_credentials",
            error=f"no push credentials configured for {', '.join(platforms)}",
            info=info,
        )
    transient = [r for r in failed if r.transient]
    first = (transient or failed)[0]
    detail = f"{len(failed)} of {len(results)} devices failed; first: {first.detail}"
    result = SendResult(
        outcome="failed",
        transient=bool(transient),
        error_code=first.code,
        error=detail,
        info=info,
    )
    if not transient and len(dead) == len(failed) == len(results):
        result.error_code = "push_dead_tokens"
    return result


class DeviceLoader:
    """Coalesces the device lookups of concurrent sends into one query.

    A worker sends a claimed batch concurrently; without this every delivery
    would cost its own round trip to the database before anything is pushed.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[str, list[asyncio.Future[list[Row]]]] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    async def load(self, user_id: str) -> list[Row]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Row]] = loop.create_future()
        if not self._pending:
            # runs after the sends already scheduled in this loop turn have asked too
            loop.call_soon(self._start_flush)
        self._pending.setdefault(user_id, []).append(future)
        return await future

    def _start_flush(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        try:
            found = await store.list_for_users(self.db, list(pending))
        except Exception as exc:  # every waiter sees the failure (and retries)
            for futures in pending.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(exc)
            return
        for user_id, futures in pending.items():
            for f in futures:
                if not f.done():
                    f.set_result(found.get(user_id, []))


class PushSender:
    channel = "push"

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.devices = DeviceLoader(db)
        self.apns = APNsClient(settings)
        self.fcm = FCMClient(settings)

    async def _one(self, device: dict[str, Any], delivery: Delivery) -> DeviceResult:
        token, platform = device["token"], device["platform"]
        if platform == "ios":
            if not self.apns.configured:
                return DeviceResult(token, platform, ok=False, unconfigured=True)
            return await self.apns.send(token, delivery, topic=device.get("app"))
        if not self.fcm.configured:
            return DeviceResult(token, platform, ok=False, unconfigured=True)
        return await self.fcm.send(token, platform, delivery)

    async def send(self, delivery: Delivery) -> SendResult:
        devices = await self.devices.load(delivery.user_id)
        if len(devices) == 1:  # the common case: no task of its own for the one device
            results = [await self._one(devices[0], delivery)]
        else:
            results = list(await asyncio.gather(*(self._one(d, delivery) for d in devices)))
        dead = [r.token for r in results if r.dead]
        if dead:
            await store.remove_dead(self.db, delivery.user_id, dead)
            log.info("removed %d dead push token(s) of a user", len(dead))
        return aggregate(results)

    async def close(self) -> None:
        await self.apns.close()
        await self.fcm.close()


def build_sender(state: Any) -> PushSender:
    """Always a sender: without credentials it suppresses with the reason."""
    return PushSender(state.db, state.settings)
