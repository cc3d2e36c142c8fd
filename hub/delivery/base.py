"""The Sender interface every delivery channel implements.

A worker claims one row of the delivery queue (one notification × channel),
builds a `Delivery` from it, and hands it to the channel's `Sender`. Senders
only send: they do no routing and no queue bookkeeping, and they report what
happened as a `SendResult` (errors as data, with a stable code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

CHANNELS = ("in_app", "email", "push", "sms", "webhook", "chat")

Outcome = Literal["sent", "delivered", "failed", "bounced", "suppressed"]


@dataclass
class Delivery:
    id: int  # delivery queue row id
    notification_id: int
    user_id: str
    channel: str
    attempts: int  # attempts made before this one
    category: str
    title: str
    body: str
    link: str | None = None
    priority: str = "normal"
    data: dict[str, Any] | None = None
    # where to send: email address, webhook URL, Apprise URL; push looks up devices
    address: str | None = None
    # anything the planner attached (template name, digest items, …)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SendResult:
    outcome: Outcome
    # a transient failure is retried with backoff; a permanent one is not
    transient: bool = False
    error_code: str | None = None  # stable, e.g. "smtp_5xx", "apns_bad_device_token"
    error: str | None = None  # human-readable detail (never contains secrets)
    # provider ids, tokens removed as dead, etc.
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, outcome: Outcome = "sent", **info: Any) -> SendResult:
        return cls(outcome=outcome, info=info)

    @classmethod
    def retry(cls, code: str, error: str) -> SendResult:
        return cls(outcome="failed", transient=True, error_code=code, error=error)

    @classmethod
    def fail(cls, code: str, error: str, outcome: Outcome = "failed") -> SendResult:
        return cls(outcome=outcome, transient=False, error_code=code, error=error)

    @classmethod
    def suppressed(cls, code: str, reason: str) -> SendResult:
        return cls(outcome="suppressed", error_code=code, error=reason)


def retryable_status(status: int) -> bool:
    """Whether an HTTP error answer may succeed later: a timeout (408), a rate limit
    (429) or a server error (5xx). Other 4xx are refusals and fail for good."""
    return status in (408, 429) or status >= 500


class Sender(Protocol):
    channel: str

    async def send(self, delivery: Delivery) -> SendResult: ...

    async def close(self) -> None: ...
