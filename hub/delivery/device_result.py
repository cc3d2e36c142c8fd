"""The outcome of one push to one device, shared by the APNs and FCM clients."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceResult:
    token: str
    platform: str
    ok: bool
    code: str | None = None  # stable error code, e.g. "apns_bad_device_token"
    detail: str | None = None
    dead: bool = False  # the service says this token will never work again: forget it
    transient: bool = False  # worth retrying later
    unconfigured: bool = False  # no credentials for this platform's service


def snake(name: str) -> str:
    """ "BadDeviceToken" -> "bad_device_token", "QUOTA_EXCEEDED" -> "quota_exceeded"."""
    if name.isupper() or "_" in name:
        return name.lower()
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
