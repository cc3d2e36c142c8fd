"""The email channel: multipart text + HTML messages through SMTP or into .eml files.

``HUB_EMAIL_URL`` picks the transport: ``smtp://user:pass@host:port?starttls=1``
(or ``?tls=1`` / ``smtps://`` for implicit TLS) through aiosmtplib with a small
pool of kept-open connections, or ``file:///dir`` writing one .eml per message
(the embedded default). SMTP answers are classified as data: a permanent
5xx for the recipient or the message → ``bounced`` (the worker then suppresses
the address); 4xx, timeouts and connection errors → transient, retried.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from hub.delivery.base import Delivery, SendResult
from hub.delivery.email_templates import absolute, choose, render
from hub.delivery.mime import compose
from hub.delivery.unsubscribe import make_token, unsubscribe_url
from hub.settings import Settings, obscure_url

log = logging.getLogger("hub.delivery.email")

POOL_SIZE = 8  # connections per process; ?pool=N in the URL changes it


@dataclass(frozen=True)
class Outgoing:
    """One composed message: envelope sender and recipient, and the bytes."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


@lru_cache(maxsize=8)
def _envelope(email_from: str) -> tuple[str, str]:
    """(envelope sender, Message-ID domain) from HUB_EMAIL_FROM."""
    address = parseaddr(email_from)[1] or "hub@localhost"
    return address, address.rpartition("@")[2] or "localhost"


def build_message(delivery: Delivery, settings: Settings) -> Outgoing:
    """The complete message for one delivery (pure apart from the clock)."""
    base = settings.base_url
    extra = delivery.extra or {}
    template = choose(delivery.category, delivery.data, extra)
    unsubscribe_category = "*" if template.endswith("_digest") else delivery.category
    token = make_token(settings.secret_key, delivery.user_id, unsubscribe_category)
    unsub = unsubscribe_url(base, token)
    items = [{**item, "link": absolute(item.get("link"), base)} for item in extra.get("items", [])]
    rendered = render(
        template,
        {
            "title": delivery.title,
            "body": delivery.body,
            "link": absolute(delivery.link, base),
            "data": delivery.data or {},
            "category": delivery.category,
            "items": items,
            "total": extra.get("total", len(items)),
            "unsubscribe_url": unsub,
            "preferences_url": f"{base.rstrip('/')}/preferences",
            "center_url": f"{base.rstrip('/')}/notifications",
            "locale": extra.get("locale"),
        },
    )
    envelope_from, domain = _envelope(settings.email_from)
    message_id = f"<{time.time_ns()}.d{delivery.id}.{secrets.token_hex(4)}@{domain}>"
    recipient = delivery.address or ""
    data = compose(
        [
            ("Subject", rendered.subject),
            ("From", settings.email_from),
            ("To", recipient),
            ("Date", formatdate(usegmt=True)),
            ("Message-ID", message_id),
            ("List-Unsubscribe", f"<{unsub}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("X-Hub-Delivery-Id", str(delivery.id)),
            ("X-Hub-Category", delivery.category),
            ("X-Hub-Template", rendered.template),
        ],
        rendered.text,
        rendered.html,
    )
    return Outgoing(envelope_from, recipient, data, message_id)


def classify(exc: BaseException) -> SendResult:
    """An SMTP failure as a SendResult (errors as data, stable codes)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return _by_code(first.code, first.message)
    if isinstance(exc, aiosmtplib.SMTPHeloError):
        # the server refusing to talk is not the recipient's fault
        return SendResult.retry("smtp_helo", f"{exc.code} {exc.message}"[:300])
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SendResult.retry("smtp_auth", f"authentication failed ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        if exc.code >= 500:
            return SendResult.fail("smtp_sender_refused", f"{exc.code} {exc.message}")
        return SendResult.retry("smtp_4xx", f"{exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message)
    return SendResult.retry("smtp_connection", f"{type(exc).__name__}: {exc}"[:300])


def _by_code(code: int, message: str) -> SendResult:
    if 500 <= code < 600:
        return SendResult.fail("smtp_5xx", f"{code} {message}"[:300], outcome="bounced")
    return SendResult.retry("smtp_4xx", f"{code} {message}"[:300])


SIMPLE_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


async def _transaction(client: aiosmtplib.SMTP, msg: Outgoing) -> Any:
    """MAIL, RCPT, DATA on a connected client.

    Not sendmail(): it parses each address three more times (a tenth of the CPU
    of a send), and its parser reads "a<b>@x" as "b". Only plain addresses are
    sent (checked before this). After an error the caller drops the
    connection, so no RSET is needed.
    """
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    r = await client.execute_command(b"MAIL", b"FROM:<" + msg.sender.encode() + b">")
    if r.code != 250:
        raise aiosmtplib.SMTPSenderRefused(r.code, r.message, msg.sender)
    r = await client.execute_command(b"RCPT", b"TO:<" + msg.recipient.encode() + b">")
    if r.code not in (250, 251):
        raise aiosmtplib.SMTPRecipientRefused(r.code, r.message, msg.recipient)
    return await client.data(msg.data)


class FileTransport:
    """Writes each message to ``<dir>/<time>-<delivery>-<random>.eml`` (atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, name: str, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    async def deliver(self, msg: Outgoing, delivery_id: int) -> SendResult:
        name = f"{time.time_ns()}-{delivery_id}-{secrets.token_hex(3)}.eml"
        path = await asyncio.to_thread(self._write, name, msg.data)
        return SendResult.ok("sent", file=str(path), message_id=msg.message_id)

    async def close(self) -> None:
        return None


class SmtpTransport:
    """aiosmtplib with up to POOL_SIZE kept-open connections."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.use_tls = parts.scheme == "smtps" or query.get("tls") in ("1", "true")
        self.start_tls = query.get("starttls") in ("1", "true")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.use_tls else 587 if self.start_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = float(query.get("timeout", 30))
        self.validate_certs = query.get("verify", "1") not in ("0", "false")
        self.safe_url = obscure_url(url)
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(pool_size)
        self._all: set[aiosmtplib.SMTP] = set()

    def _client(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
            validate_certs=self.validate_certs,
        )
        self._all.add(client)
        return client

    async def deliver(self, msg: Outgoing, delivery_id: int) -> SendResult:
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else self._client()
            keep = False  # only a connection that finished a transaction cleanly is reused
            try:
                # one deadline for the whole transaction rather than aiosmtplib's
                # timer per command (five per message)
                async with asyncio.timeout(self.timeout):
                    response = await self._send(client, msg)
                keep = True
                return SendResult.ok("sent", smtp=response.message, message_id=msg.message_id)
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                return classify(exc)
            finally:
                if keep and client.is_connected:
                    self._idle.put_nowait(client)
                else:
                    client.close()
                    self._all.discard(client)

    async def _send(self, client: aiosmtplib.SMTP, msg: Outgoing) -> Any:
        for attempt in (1, 2):
            try:
                if not client.is_connected:
                    await client.connect()
                    client.timeout = None  # the deadline in deliver() covers each command
                return await _transaction(client, msg)
            except aiosmtplib.SMTPServerDisconnected:
                # a kept-open connection the server dropped: one fresh try
                client.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for client in list(self._all):
            try:
                if client.is_connected:
                    await client.quit()
            except Exception:  # noqa: BLE001 - closing anyway
                client.close()
        self._all.clear()


class EmailSender:
    channel = "email"

    def __init__(self, settings: Settings, transport: Any) -> None:
        self.settings = settings
        self.transport = transport

    async def send(self, delivery: Delivery) -> SendResult:
        if not delivery.address:
            return SendResult.suppressed("no_address", "the user has no email address")
        if not SIMPLE_ADDRESS.match(delivery.address):
            # quoting, comments or non-ASCII mailboxes: refuse rather than let a
            # parser guess which part is the address
            return SendResult.fail("invalid_address", "not a plain ASCII mailbox address")
        try:
            msg = build_message(delivery, self.settings)
        except ValueError as exc:  # a header that cannot be written (CR/LF in it)
            return SendResult.fail("invalid_message", str(exc))
        return await self.transport.deliver(msg, delivery.id)

    async def close(self) -> None:
        await self.transport.close()


def transport_from_url(url: str) -> Any:
    scheme = url.split("://", 1)[0].lower()
    if scheme == "file":
        parts = urlsplit(url)
        # file:///abs/dir, or file://var/mail relative to the working directory
        return FileTransport(Path(unquote(parts.netloc + parts.path)))
    if scheme in ("smtp", "smtps"):
        pool = parse_qs(urlsplit(url).query).get("pool", [str(POOL_SIZE)])[-1]
        return SmtpTransport(url, pool_size=max(1, int(pool)) if pool.isdigit() else POOL_SIZE)
    raise ValueError(f"unsupported email URL scheme: {obscure_url(url)}")


def build_sender(state: Any) -> EmailSender | None:
    url = state.settings.email_url
    if not url:
        return None
    return EmailSender(state.settings, transport_from_url(url))
