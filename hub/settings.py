"""Every HUB_* setting in one place.

Values come from the environment, then an optional `.env` file in the working
directory. Backends are chosen by URL scheme (see README, "Settings").
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.config import Config

VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", "var"))


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    return value.strip().lower() in {"1", "true", "yes", "on"}


def obscure_url(url: str) -> str:
    """The URL with any password replaced, safe to log."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _default_secret() -> str:
    """A per-installation secret kept under var/ so sessions survive restarts.

    Deployments set HUB_SECRET_KEY; this only keeps `make run` zero-config.
    """
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    # Storage and backends (chosen by URL scheme)
    database_url: str = f"sqlite:///{VAR_DIR}/hub.db"
    broadcast_url: str = "memory://"
    # Empty disables analytics ingestion (the outbox still records every event).
    # chdb:///abs/path (absolute, as clickhouse-connect reads it): resolved so the
    # embedded default stays under ./var/ like the SQLite file
    analytics_url: str = f"chdb://{VAR_DIR.resolve()}/analytics"
    email_url: str = f"file:///{VAR_DIR.resolve()}/mail"

    # Security
    secret_key: str = field(default="", repr=False)
    token_max_age: int = 30 * 24 * 3600  # session cookie lifetime, seconds
    base_url: str = "http://127.0.0.1:8000"

    # Serving
    host: str = "127.0.0.1"
    port: int = 8000
    run_workers: bool = True
    migrate_on_start: bool = True
    log_level: str = "info"
    # Event loop of `hub serve`: "auto" (uvloop when installed, as it is by default),
    # "uvloop" or "asyncio".
    event_loop: str = "auto"

    # Producer API
    # Concurrent POST /api/notifications without an idempotency key are written in
    # one transaction, up to this many per transaction (group commit); 0 = one each.
    send_batch_max: int = 200
    # Seconds a verified API key is trusted without a query; a revocation made by
    # another process takes up to this long to apply here (0 = query every request).
    api_key_cache_s: float = 5.0

    # Real-time
    ws_ping_interval: float = 25.0
    ws_queue_size: int = 1000
    ws_max_frame: int = 64 * 1024
    resume_max_gap: int = 1000
    broadcast_prefix: str = "hub"

    # Delivery
    email_from: str = "Hub <hub@localhost>"
    delivery_workers: int = 2
    delivery_max_attempts: int = 8
    delivery_poll_interval: float = 0.5
    digest_hour: int = 9
    delivery_batch_size: int = 100  # rows a worker claims at once
    delivery_lease: float = 60.0  # seconds a claimed row stays invisible before re-claim
    delivery_backoff_base: float = 5.0  # first retry delay, doubled per attempt (jittered)
    delivery_backoff_max: float = 3600.0
    digest_interval: float = 30.0  # how often workers look for due digests, seconds
    apns_key_path: str = ""
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_topic: str = ""
    apns_sandbox: bool = False
    # "https://host:port" of an APNs-compatible gateway instead of Apple's; empty = Apple
    apns_url: str = ""
    apns_ca_file: str = ""  # extra CA bundle to trust for apns_url (PEM)
    fcm_credentials_path: str = ""
    fcm_project_id: str = ""
    fcm_url: str = ""  # base URL of an FCM v1-compatible endpoint; empty = Google
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    chat_url: str = field(default="", repr=False)  # Apprise URLs carry tokens: never logged
    # Apprise URL template for SMS, "{phone}" replaced by the E.164 number, e.g.
    # "twilio://SID:Token@+15550000/{phone}"; empty = no SMS provider
    sms_url: str = field(default="", repr=False)

    # Analytics
    ingest_batch_size: int = 100_000
    ingest_interval: float = 1.0
    analytics_ttl_days: int = 400
    # Seconds a dashboards answer may be reused while nothing new was ingested
    # (dashboards/cache.py); 0 turns the cache off.
    dashboards_cache_ttl: float = 60.0

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def safe_dict(self) -> dict[str, Any]:
        """Settings for logs: passwords in URLs obscured, secrets left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.repr:
                continue
            if isinstance(value, str) and "://" in value:
                value = obscure_url(value)
            out[f.name] = value
        return out


def load_settings(env_file: str | None = ".env", **overrides: Any) -> Settings:
    """Build Settings from HUB_* environment variables (and `.env`)."""
    config = Config(env_file if env_file and Path(env_file).exists() else None)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = config(f"HUB_{f.name.upper()}", default=None)
        if raw is None:
            continue
        default = f.default
        if isinstance(default, bool):
            values[f.name] = _bool(raw)
        elif isinstance(default, int):
            values[f.name] = int(raw)
        elif isinstance(default, float):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    values.update(overrides)
    if not values.get("secret_key"):
        values["secret_key"] = _default_secret()
    return Settings(**values)
