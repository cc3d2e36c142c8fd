"""The `webhook` channel: a signed JSON POST to the user's (or the app's) endpoint.

Headers: ``X-Hub-Timestamp`` (unix seconds), ``X-Hub-Signature`` =
``sha256=`` + hex HMAC-SHA256(secret, f"{timestamp}.{body}"), ``X-Hub-Delivery``
(the delivery id: the same on every retry, so receivers can drop duplicates).
The secret is HUB_WEBHOOK_SECRET, or else one derived from HUB_SECRET_KEY (never
the secret key itself: that one signs user tokens). 2xx is delivered; 408,
429, 5xx and network errors are retried; other answers fail for good.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from hub.delivery.base import Delivery, SendResult, retryable_status
from hub.settings import Settings

TIMEOUT = 10.0
TOLERANCE = 300  # seconds a receiver should accept a timestamp for


def signing_secret(settings: Settings) -> str:
    if settings.webhook_secret:
        return settings.webhook_secret
    return hmac.new(
        settings.secret_key.encode(), b"hub webhook signing key", hashlib.sha256
    ).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(delivery: Delivery) -> dict[str, Any]:
    return {
        "type": "notification",
        "delivery_id": delivery.id,
        "notification_id": delivery.notification_id,
        "user_id": delivery.user_id,
        "category": delivery.category,
        "title": delivery.title,
        "body": delivery.body,
        "link": delivery.link,
        "priority": delivery.priority,
        "data": delivery.data,
        "attempt": delivery.attempts + 1,
    }


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "only http and https webhook URLs are allowed"
    if not parts.hostname:
        return "the webhook URL has no host"
    return None


def classify(status: int) -> SendResult:
    if 200 <= status < 300:
        return SendResult.ok("delivered", status=status)
    if retryable_status(status):
        return SendResult.retry(f"webhook_{status}", f"endpoint answered {status}")
    if 300 <= status < 400:
        return SendResult.fail("webhook_redirect", f"endpoint redirected ({status})")
    return SendResult.fail(f"webhook_{status}", f"endpoint answered {status}")


class WebhookSender:
    channel = "webhook"

    def __init__(self, settings: Settings, timeout: float = TIMEOUT) -> None:
        self.settings = settings
        self.secret = signing_secret(settings)
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def send(self, delivery: Delivery) -> SendResult:
        url = delivery.address or self.settings.webhook_url
        if not url:
            return SendResult.suppressed("no_address", "no webhook URL for this user or app")
        problem = url_problem(url)
        if problem:
            return SendResult.fail("webhook_bad_url", problem)
        body = json.dumps(payload(delivery), separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hub-webhook/1",
            "X-Hub-Timestamp": timestamp,
            "X-Hub-Signature": sign(self.secret, timestamp, body),
            "X-Hub-Delivery": str(delivery.id),
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return SendResult.retry("webhook_timeout", f"no answer within {self.timeout:g}s")
        except httpx.HTTPError as exc:
            return SendResult.retry("webhook_connection", type(exc).__name__)
        return classify(response.status_code)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def build_sender(state: Any) -> WebhookSender:
    """Always a sender: deliveries without a URL are suppressed with the reason."""
    return WebhookSender(state.settings)
