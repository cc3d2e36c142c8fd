"""Delivery fixtures: a real SMTP server (aiosmtpd) in the test's event loop, and a
hub whose email goes to it.

(The push helper's tests live in this folder too; nothing here is autouse.)
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from hub.delivery.worker import Worker
from tests.conftest import Hub, make_settings, start_hub


@dataclass
class SmtpRecorder:
    """aiosmtpd handler that keeps every message and can refuse chosen recipients."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." reply
    credentials: tuple[str, str] | None = None
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, opts: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.credentials is not None:
            ok = (data.login.decode(), data.password.decode()) == self.credentials
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)


@dataclass
class SmtpServer:
    recorder: SmtpRecorder
    port: int
    server: asyncio.AbstractServer

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for _, rcpt, m in self.recorder.messages if address in rcpt]


async def start_smtp(recorder: SmtpRecorder | None = None) -> SmtpServer:
    recorder = recorder or SmtpRecorder()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            recorder,
            hostname="smtp.test",
            auth_require_tls=False,
            authenticator=recorder.authenticate,
        ),
        "127.0.0.1",
        0,
    )
    return SmtpServer(recorder, server.sockets[0].getsockname()[1], server)


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    srv = await start_smtp()
    yield srv
    srv.server.close()
    await srv.server.wait_closed()


@pytest.fixture
async def mail_hub(db_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Hub]:
    """The app on SQLite and Postgres, emailing the local SMTP server, no background workers."""
    settings = make_settings(
        db_url,
        tmp_path,
        email_url=smtp.url,
        delivery_backoff_base=0.001,
        delivery_backoff_max=0.002,
        delivery_max_attempts=3,
    )
    async for h in start_hub(settings):
        yield h


async def drain(hub: Hub, rounds: int = 20) -> int:
    """Run one worker until nothing is due; returns the number of rows handled."""
    worker = Worker(hub.state, hub.state.senders)
    total = 0
    for _ in range(rounds):
        n = await worker.run_once()
        total += n
        if n == 0:
            break
        await asyncio.sleep(0.005)  # let backoff delays (ms in tests) pass
    return total


async def profile(hub: Hub, user_id: str, **fields: Any) -> None:
    if not hasattr(hub, "_users_key"):
        hub._users_key = await hub.key("notify", name="users")  # type: ignore[attr-defined]
    r = await hub.client.put(f"/api/users/{user_id}", json=fields, headers=hub._users_key)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
