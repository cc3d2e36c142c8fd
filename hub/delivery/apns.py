"""Apple Push Notification service through aioapns (HTTP/2, token auth with a .p8 key).

Settings: HUB_APNS_KEY_PATH (.p8), HUB_APNS_KEY_ID, HUB_APNS_TEAM_ID,
HUB_APNS_TOPIC (bundle id), HUB_APNS_SANDBOX. HUB_APNS_URL points the client
at another APNs-compatible gateway (and HUB_APNS_CA_FILE at the CA that signs
its certificate); the tests use it for their local HTTP/2 server.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aioapns import APNs, NotificationRequest, PushType
from aioapns.connection import APNsTLSClientProtocol
from aioapns.exceptions import ConnectionClosed, MaxAttemptsExceeded
from aioapns.exceptions import ConnectionError as APNsConnectionError

from hub.delivery.apns_wire import FastProtocol
from hub.delivery.base import Delivery
from hub.delivery.device_result import DeviceResult, snake
from hub.settings import Settings

log = logging.getLogger("hub.delivery.apns")

DEAD_REASONS = frozenset({"BadDeviceToken", "Unregistered", "ExpiredToken"})
TRANSIENT_REASONS = frozenset(
    {
        "ExpiredProviderToken",
        "TooManyProviderTokenUpdates",
        "TooManyRequests",
        "InternalServerError",
        "ServiceUnavailable",
        "Shutdown",
    }
)
TRANSIENT_STATUSES = frozenset({"429", "500", "502", "503", "504"})
# apns-id of a push: stable for one delivery and device, so logs on both sides match
_ID_NAMESPACE = uuid.UUID("6f0d2f8e-3c1a-4e55-9a51-6e2b8a1c0f11")


def classify(token: str, status: str, reason: str | None) -> DeviceResult:
    """APNs' answer (HTTP status, `reason`) as a DeviceResult."""
    if status == "200":
        return DeviceResult(token, "ios", ok=True)
    why = reason or f"status {status}"
    code = "apns_" + (snake(reason) if reason else f"status_{status}")
    if status == "410" or reason in DEAD_REASONS:
        return DeviceResult(token, "ios", ok=False, code=code, detail=why, dead=True)
    transient = status in TRANSIENT_STATUSES or reason in TRANSIENT_REASONS
    return DeviceResult(token, "ios", ok=False, code=code, detail=why, transient=transient)


def payload(delivery: Delivery) -> dict[str, Any]:
    """The APNs JSON body: an alert plus the hub's own keys for the app."""
    out: dict[str, Any] = {
        "aps": {
            "alert": {"title": delivery.title, "body": delivery.body},
            "sound": "default",
            "thread-id": delivery.category,
        },
        "notification_id": delivery.notification_id,
        "category": delivery.category,
    }
    if delivery.link:
        out["link"] = delivery.link
    if delivery.data:
        out["data"] = delivery.data
    return out


def priority(delivery: Delivery) -> int:
    # 10 = deliver now; 5 lets the device batch it to save power
    return 5 if delivery.priority == "low" else 10


APPLE = "https://api.push.apple.com"
APPLE_SANDBOX = "https://api.development.push.apple.com"


def _protocol_for(url: str) -> type[APNsTLSClientProtocol]:
    """aioapns' protocol aimed at `url`, with the cheaper framing of `apns_wire`.

    aioapns takes host and port from its pool's ``protocol_class`` (it has no URL
    option), so that attribute is how HUB_APNS_URL takes effect.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("HUB_APNS_URL must be https://host[:port]")

    attrs = {"APNS_SERVER": parts.hostname, "APNS_PORT": parts.port or 443}
    return type("APNsProtocol", (FastProtocol,), attrs)


async def _quiet(request: NotificationRequest, result: Any) -> None:
    """aioapns logs every refusal at ERROR; the push sender reports them instead."""


class APNsClient:
    """One aioapns client per event loop (aioapns binds itself to the loop it is built in)."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._client: APNs | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.apns_key_path and s.apns_key_id and s.apns_team_id and s.apns_topic)

    def _build(self) -> APNs:
        s = self.settings
        ssl_context = ssl.create_default_context(cafile=s.apns_ca_file or None)
        client = APNs(
            key=Path(s.apns_key_path).read_text(),
            key_id=s.apns_key_id,
            team_id=s.apns_team_id,
            topic=s.apns_topic,
            use_sandbox=s.apns_sandbox,
            ssl_context=ssl_context,
            max_connections=4,
            max_connection_attempts=2,
            err_func=_quiet,
        )
        default = APPLE_SANDBOX if s.apns_sandbox else APPLE
        client.pool.protocol_class = _protocol_for(s.apns_url or default)
        return client

    def _get(self) -> APNs:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._build()
            self._loop = loop
        return self._client

    async def send(self, token: str, delivery: Delivery, topic: str | None = None) -> DeviceResult:
        try:
            client = self._get()
        except (OSError, ValueError) as exc:
            return DeviceResult(token, "ios", ok=False, code="apns_config", detail=str(exc))
        request = NotificationRequest(
            device_token=token,
            message=payload(delivery),
            notification_id=str(uuid.uuid5(_ID_NAMESPACE, f"{delivery.id}:{token}")),
            priority=priority(delivery),
            push_type=PushType.ALERT,
            apns_topic=topic or None,
        )
        try:
            # a timeout context, not wait_for: no extra task per push
            async with asyncio.timeout(self.timeout):
                result = await client.send_notification(request)
        except TimeoutError:
            return DeviceResult(
                token, "ios", ok=False, code="apns_timeout", detail="no answer", transient=True
            )
        except (APNsConnectionError, ConnectionClosed, MaxAttemptsExceeded, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}"[:300]
            return DeviceResult(
                token, "ios", ok=False, code="apns_connection", detail=detail, transient=True
            )
        return classify(token, str(result.status), result.description)

    async def close(self) -> None:
        if self._client is not None:
            self._client.pool.close()
            self._client = None
