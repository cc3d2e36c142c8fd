"""The `chat` and `sms` channels through Apprise (Slack, Discord, Telegram, Twilio, ...).

chat: ``Delivery.address`` is the user's Apprise URL (else HUB_CHAT_URL, the
app-wide one). sms: ``Delivery.address`` is the user's E.164 phone number and
HUB_SMS_URL an Apprise URL template for the provider with ``{phone}`` in it,
e.g. ``twilio://SID:Token@+15550000/{phone}``.

Apprise is synchronous, so sends run on a small thread pool. Its structured
result says whether the service accepted the message; the HTTP status in its
log line tells a refusal (4xx: permanent) from an outage (5xx/429: retried).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import apprise

from hub.delivery.base import Delivery, SendResult, retryable_status
from hub.settings import Settings

THREADS = 8
PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")
_STATUS = re.compile(r"error=(\d{3})")


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use `url`, or None (for validating URLs users give)."""
    if not url or apprise.Apprise.instantiate(url) is None:
        return "not an Apprise URL this hub can send to"
    return None


def sms_url(template: str, phone: str) -> str:
    # "+" would read as a space in a query string; Apprise decodes %2B back
    return template.replace("{phone}", quote(phone, safe=""))


def classify(channel: str, status: str, messages: list[str]) -> SendResult:
    """Apprise's outcome (status name, log lines) as a SendResult."""
    if status == "SUCCESS":
        return SendResult.ok("sent")
    detail = (messages[-1] if messages else f"apprise {status.lower()}")[:300]
    if status == "TIMEOUT":
        return SendResult.retry(f"{channel}_timeout", detail)
    codes = [int(c) for m in messages for c in _STATUS.findall(m)]
    if codes:
        code = codes[-1]
        if retryable_status(code):
            return SendResult.retry(f"{channel}_{code}", detail)
        return SendResult.fail(f"{channel}_{code}", detail)
    # no answer at all (connection refused, DNS): the service may come back
    return SendResult.retry(f"{channel}_unreachable", detail)


def notify(url: str, title: str, body: str) -> tuple[str, list[str]] | None:
    """Send through Apprise (blocking); None when Apprise does not accept the URL."""
    client = apprise.Apprise()
    if not client.add(url):
        return None
    result = client.notify(title=title, body=body)
    messages = [entry.message for service in result for attempt in service for entry in attempt]
    return result.status.name, messages


class AppriseSender:
    def __init__(self, channel: str, settings: Settings) -> None:
        self.channel = channel
        self.settings = settings
        self._pool: ThreadPoolExecutor | None = None

    def target(self, delivery: Delivery) -> str | SendResult:
        """The Apprise URL for this delivery, or the result that replaces sending."""
        if self.channel == "sms":
            if not self.settings.sms_url:
                return SendResult.suppressed("no_credentials", "no SMS provider (HUB_SMS_URL)")
            phone = (delivery.address or "").strip()
            if not phone:
                return SendResult.suppressed("no_address", "the user has no phone number")
            if not PHONE.match(phone):
                return SendResult.fail("sms_bad_number", "not an E.164 phone number")
            return sms_url(self.settings.sms_url, phone)
        url = delivery.address or self.settings.chat_url
        if not url:
            return SendResult.suppressed("no_address", "no chat URL for this user or app")
        return url

    def text(self, delivery: Delivery) -> str:
        body = delivery.body
        if delivery.link:
            link = delivery.link
            if link.startswith("/"):
                link = self.settings.base_url.rstrip("/") + link
            body = f"{body}\n{link}" if body else link
        # Apprise refuses an empty body; a title-only notification says it all in the title
        return body or delivery.title

    async def send(self, delivery: Delivery) -> SendResult:
        url = self.target(delivery)
        if isinstance(url, SendResult):
            return url
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix=f"hub-{self.channel}")
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(
            self._pool, notify, url, delivery.title, self.text(delivery)
        )
        if outcome is None:
            # Apprise URLs carry tokens: never echo them into errors
            return SendResult.fail(f"{self.channel}_bad_url", "Apprise cannot use this URL")
        return classify(self.channel, *outcome)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def build_sender(state: Any) -> AppriseSender:
    return AppriseSender("chat", state.settings)


def build_sms_sender(state: Any) -> AppriseSender:
    """Always a sender: without HUB_SMS_URL deliveries are suppressed with the reason."""
    return AppriseSender("sms", state.settings)
