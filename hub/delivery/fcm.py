"""Firebase Cloud Messaging HTTP v1 (Android and web devices): pyfcm's payloads, aiohttp's wire.

Settings: HUB_FCM_CREDENTIALS_PATH (service-account JSON; its ``token_uri`` is
where OAuth2 access tokens come from), HUB_FCM_PROJECT_ID (else the JSON's),
HUB_FCM_URL (another FCM v1-compatible base URL; the tests' local server).

pyfcm does what it does well: the v1 message (``parse_payload``), the endpoint
and the service-account OAuth2 access token (``request_headers``). Its sending
is synchronous (requests: one thread per push in flight cost about 1.3 ms of CPU
per push) and its own async path opens a new session per call, so the messages
go out over one persistent aiohttp session per event loop, keep-alive, no
threads. Only fetching an access token (every 30 minutes, or after a 401) is
blocking google-auth work; it runs on a thread, once for all waiting sends.
Retries are the delivery queue's job: nothing here retries or sleeps on
Retry-After except the one re-send after a refused access token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import requests
from google.auth.exceptions import TransportError
from google.oauth2 import service_account
from pyfcm import FCMNotification
from pyfcm.errors import FCMError

from hub.delivery.base import Delivery
from hub.delivery.device_result import DeviceResult, snake
from hub.settings import Settings

log = logging.getLogger("hub.delivery.fcm")

DEAD_CODES = frozenset({"UNREGISTERED"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
CONNECTIONS = 32  # keep-alive connections to FCM per process (HTTP/1.1: one request each)
TOKEN_LIFETIME = 1800.0  # seconds an access token is used before asking again (as pyfcm)
AUTH_RETRY_AFTER = 1.0  # seconds a refused token fetch answers for all sends, not one each


def error_code(body: Any) -> str | None:
    """FCM's errorCode (from details) or the Google status name of an error answer."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    err = body["error"]
    for detail in err.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(err["status"]) if err.get("status") else None


def classify(token: str, platform: str, status: int, body: Any) -> DeviceResult:
    """FCM's answer (HTTP status, JSON body) as a DeviceResult."""
    if status == 200:
        return DeviceResult(token, platform, ok=True)
    reason = error_code(body)
    code = "fcm_" + (snake(reason) if reason else f"status_{status}")
    detail = reason or f"status {status}"
    if status == 404 or reason in DEAD_CODES:
        return DeviceResult(token, platform, ok=False, code=code, detail=detail, dead=True)
    transient = status in TRANSIENT_STATUSES
    return DeviceResult(token, platform, ok=False, code=code, detail=detail, transient=transient)


def message_args(delivery: Delivery, token: str, platform: str, base_url: str) -> dict[str, Any]:
    """Keyword arguments for pyfcm's payload builder."""
    data = {"notification_id": str(delivery.notification_id), "category": delivery.category}
    if delivery.link:
        data["link"] = delivery.link
    if delivery.data:
        data["data"] = json.dumps(delivery.data)  # FCM data values must be strings
    args: dict[str, Any] = {
        "fcm_token": token,
        "notification_title": delivery.title,
        "notification_body": delivery.body or None,
        "data_payload": data,
    }
    urgent = delivery.priority in ("high", "critical")
    if platform == "android":
        args["android_config"] = {
            "priority": "high" if urgent else "normal",
            "notification": {"tag": delivery.category},
        }
    else:
        webpush: dict[str, Any] = {"headers": {"Urgency": "high" if urgent else "normal"}}
        link = delivery.link or ""
        if link.startswith("/"):
            link = base_url.rstrip("/") + link
        if link.startswith("https://"):  # FCM only accepts https links for web push
            webpush["fcm_options"] = {"link": link}
        args["webpush_config"] = webpush
    return args


def auth_failure(token: str, platform: str, exc: Exception) -> DeviceResult:
    """The token endpoint refused or was unreachable, or the credentials file is bad."""
    cause = exc.args[0] if isinstance(exc, FCMError) and exc.args else exc
    transient = bool(getattr(cause, "retryable", False)) or isinstance(
        cause, (TransportError, requests.RequestException)
    )
    return DeviceResult(
        token, platform, ok=False, code="fcm_auth", detail=type(cause).__name__, transient=transient
    )


class FCMClient:
    """pyfcm for payload, endpoint and access token; one aiohttp session per event loop."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._fcm: FCMNotification | None = None
        self._proxy: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresh: asyncio.Lock | None = None
        self._headers: dict[str, str] | None = None
        self._headers_until = 0.0
        self._auth_failed: tuple[Exception, float] | None = None  # error, retry after

    @property
    def configured(self) -> bool:
        return bool(self.settings.fcm_credentials_path)

    def _build(self) -> FCMNotification:
        if self._fcm is None:
            s = self.settings
            if not Path(s.fcm_credentials_path).is_file():
                raise FileNotFoundError("HUB_FCM_CREDENTIALS_PATH is not a readable file")
            credentials = service_account.Credentials.from_service_account_file(
                s.fcm_credentials_path, scopes=[SCOPE]
            )
            fcm = FCMNotification(credentials=credentials, project_id=s.fcm_project_id or None)
            if s.fcm_url:
                fcm.FCM_END_POINT_BASE = s.fcm_url.rstrip("/") + "/v1/projects"
            # the proxy comes from the environment once, here; aiohttp's trust_env would
            # also read ~/.netrc, whose entry for the host would clash with the bearer token
            proxies = requests.utils.get_environ_proxies(fcm.fcm_end_point)
            self._proxy = proxies.get(fcm.fcm_end_point.split(":", 1)[0]) or proxies.get("all")
            self._fcm = fcm
        return self._fcm

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # an aiohttp session (and the asyncio lock) belong to the loop they are made in
            connector = aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,
                skip_auto_headers=("User-Agent",),
            )
            self._refresh = asyncio.Lock()
            self._loop = loop
        return self._session

    async def _auth_headers(
        self, fcm: FCMNotification, stale: dict[str, str] | None
    ) -> dict[str, str]:
        """pyfcm's headers (bearer access token), fetched by one send for all that wait.

        `stale` is the headers a send saw refused (401): they are replaced even if young.
        """
        headers = self._headers
        if headers is not None and headers is not stale and time.monotonic() < self._headers_until:
            return headers
        if self._refresh is None:
            self._refresh = asyncio.Lock()
        async with self._refresh:
            current = self._headers
            if current is not None and current is not stale:
                if time.monotonic() < self._headers_until:
                    return current  # another send fetched it while this one waited
            failed = self._auth_failed
            if failed is not None and time.monotonic() < failed[1]:
                raise failed[0]  # the sends that queued behind a refused fetch fail with it
            # google-auth's refresh is blocking HTTP: off the event loop
            try:
                fresh: dict[str, str] = await asyncio.to_thread(fcm.request_headers)
            except Exception as exc:
                self._auth_failed = (exc, time.monotonic() + AUTH_RETRY_AFTER)
                raise
            self._auth_failed = None
            self._headers = fresh
            self._headers_until = time.monotonic() + TOKEN_LIFETIME
            return fresh

    async def _post(
        self, session: aiohttp.ClientSession, url: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Any]:
        async with session.post(url, data=payload, headers=headers, proxy=self._proxy) as resp:
            raw = await resp.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            return resp.status, body

    async def send(self, token: str, platform: str, delivery: Delivery) -> DeviceResult:
        try:
            fcm = self._build()
            session = self._session_for_loop()
            payload = fcm.parse_payload(
                **message_args(delivery, token, platform, self.settings.base_url)
            )
            url = fcm.fcm_end_point
            headers = await self._auth_headers(fcm, None)
        except (FCMError, OSError, ValueError) as exc:
            return auth_failure(token, platform, exc)
        try:
            status, body = await self._post(session, url, payload, headers)
            if status == 401:
                # an access token expired early or was revoked: fetch a new one once
                try:
                    headers = await self._auth_headers(fcm, headers)
                except (FCMError, OSError, ValueError) as exc:
                    return auth_failure(token, platform, exc)
                status, body = await self._post(session, url, payload, headers)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return DeviceResult(
                token,
                platform,
                ok=False,
                code="fcm_connection",
                detail=type(exc).__name__,
                transient=True,
            )
        return classify(token, platform, status, body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
