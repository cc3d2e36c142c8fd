"""Firebase Cloud Messaging HTTP v1 through pyfcm (Android and web devices).

Settings: HUB_FCM_CREDENTIALS_PATH (service-account JSON; its ``token_uri`` is
where OAuth2 access tokens come from), HUB_FCM_PROJECT_ID (else the JSON's),
HUB_FCM_URL (another FCM v1-compatible base URL; the tests' local server).

pyfcm is synchronous (requests), so each send runs on a small thread pool; its
sessions and access tokens are per thread. Retries are the delivery queue's
job, so pyfcm's own urllib3 retries are turned off and its Retry-After sleep
is bypassed by posting through its session and reading the answer here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from google.auth.exceptions import TransportError
from google.oauth2 import service_account
from pyfcm import FCMNotification
from pyfcm.errors import FCMError
from requests.adapters import HTTPAdapter

from hub.delivery.base import Delivery
from hub.delivery.device_result import DeviceResult, snake
from hub.settings import Settings

log = logging.getLogger("hub.delivery.fcm")

DEAD_CODES = frozenset({"UNREGISTERED"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
THREADS = 16
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


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


class FCMClient:
    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._fcm: FCMNotification | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._proxies: dict[str, str] = {}

    @property
    def configured(self) -> bool:
        return bool(self.settings.fcm_credentials_path)

    def _get(self) -> FCMNotification:
        with self._lock:
            return self._build()

    def _build(self) -> FCMNotification:
        if self._fcm is None:
            s = self.settings
            if not Path(s.fcm_credentials_path).is_file():
                raise FileNotFoundError("HUB_FCM_CREDENTIALS_PATH is not a readable file")
            # loaded here, once: pyfcm's lazy loading races when threads share it
            credentials = service_account.Credentials.from_service_account_file(
                s.fcm_credentials_path, scopes=[SCOPE]
            )
            adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=THREADS)
            fcm = FCMNotification(
                credentials=credentials,
                project_id=s.fcm_project_id or None,
                adapter=adapter,
            )
            if s.fcm_url:
                fcm.FCM_END_POINT_BASE = s.fcm_url.rstrip("/") + "/v1/projects"
            self._proxies = requests.utils.get_environ_proxies(fcm.FCM_END_POINT_BASE)
            self._fcm = fcm
        return self._fcm

    def _post(self, fcm: FCMNotification, payload: bytes) -> requests.Response:
        session = fcm.requests_session  # one per thread
        if session.trust_env:
            # Proxies come from the environment once, at start-up, instead of requests
            # looking up env and ~/.netrc on every call (a .netrc entry for the host
            # would even replace the bearer token with Basic auth).
            session.trust_env = False
            session.proxies.update(self._proxies)
        return session.post(fcm.fcm_end_point, data=payload, timeout=self.timeout)

    def send_sync(self, token: str, platform: str, delivery: Delivery) -> DeviceResult:
        try:
            fcm = self._get()
            payload = fcm.parse_payload(
                **message_args(delivery, token, platform, self.settings.base_url)
            )
            response = self._post(fcm, payload)
            if response.status_code == 401:
                # an access token expired early: fetch a new one once
                fcm.thread_local.token_expiry = 0
                response = self._post(fcm, payload)
        except requests.RequestException as exc:
            detail = type(exc).__name__
            return DeviceResult(
                token, platform, ok=False, code="fcm_connection", detail=detail, transient=True
            )
        except (FCMError, OSError, ValueError) as exc:
            # token endpoint refused or unreachable, bad credentials file
            cause = exc.args[0] if exc.args else exc
            transient = bool(getattr(cause, "retryable", False)) or isinstance(
                cause, (TransportError, requests.RequestException)
            )
            return DeviceResult(
                token,
                platform,
                ok=False,
                code="fcm_auth",
                detail=type(cause).__name__,
                transient=transient,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        return classify(token, platform, response.status_code, body)

    async def send(self, token: str, platform: str, delivery: Delivery) -> DeviceResult:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="hub-fcm")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.send_sync, token, platform, delivery)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
