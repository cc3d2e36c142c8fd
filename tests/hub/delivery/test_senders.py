"""The sender registry, and SMTP connections the server drops between messages."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from hub.delivery import senders
from hub.delivery.base import Delivery
from hub.delivery.email import EmailSender, SmtpTransport
from hub.settings import Settings
from tests.conftest import SECRET, make_settings
from tests.hub.delivery.conftest import SmtpRecorder


def test_registry_skips_missing_modules_and_none_factories(monkeypatch, tmp_path: Path) -> None:
    fake = types.ModuleType("hub_fake_channel")
    fake.build_sender = lambda state: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hub_fake_channel", fake)
    monkeypatch.setattr(
        senders,
        "CHANNEL_FACTORIES",
        {
            "email": "hub.delivery.email:build_sender",
            "fax": "hub_no_such_module:build_sender",
            "pager": "hub_fake_channel:build_sender",
            "telex": "hub_fake_channel:missing_function",
        },
    )
    state = types.SimpleNamespace(settings=make_settings("sqlite://", tmp_path), db=None)
    built = senders.build_senders(state)
    assert set(built) == {"email"}


def test_a_broken_channel_module_is_not_hidden(monkeypatch, tmp_path: Path) -> None:
    # a channel module that exists but misses a dependency must fail loudly,
    # not quietly turn the channel off
    (tmp_path / "hub_broken_channel.py").write_text("import hub_missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        senders.load_factory("hub_broken_channel:build_sender")
    assert info.value.name == "hub_missing_dependency_xyz"
    assert senders.load_factory("hub_absent_channel_xyz:build_sender") is None


async def test_close_senders_survives_a_failing_close(caplog) -> None:
    class Bad:
        channel = "x"

        async def close(self) -> None:
            raise RuntimeError("boom")

    await senders.close_senders({"x": Bad()})  # type: ignore[dict-item]
    assert "error closing x sender" in caplog.text


async def test_dropped_idle_connection_is_reopened() -> None:
    recorder = SmtpRecorder()
    loop = asyncio.get_running_loop()
    # the server closes connections idle for 0.2 s, as real servers do after a while
    server = await loop.create_server(
        lambda: SMTP(recorder, hostname="smtp.test", timeout=0.2), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        sender = EmailSender(
            Settings(secret_key=SECRET, email_url=""),
            SmtpTransport(f"smtp://127.0.0.1:{port}", pool_size=1),
        )
        d = Delivery(1, 1, "u", "email", 0, "general", "one", "x", address="u@example.com")
        assert (await sender.send(d)).outcome == "sent"
        await asyncio.sleep(0.5)
        d2 = Delivery(2, 2, "u", "email", 0, "general", "two", "x", address="u@example.com")
        res = await sender.send(d2)
        assert res.outcome == "sent", res
        assert [m["Subject"] for _, _, m in recorder.messages] == ["one", "two"]
        await sender.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_server_that_never_answers_is_a_transient_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, say nothing
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        transport = SmtpTransport(f"smtp://127.0.0.1:{port}?timeout=0.2")
        sender = EmailSender(Settings(secret_key=SECRET, email_url=""), transport)
        d = Delivery(1, 1, "u", "email", 0, "general", "one", "x", address="u@example.com")
        res = await sender.send(d)
        assert res.outcome == "failed" and res.transient and res.error_code == "smtp_connection"
        assert transport._idle.empty()  # the half-open connection is not reused
        await sender.close()
    finally:
        server.close()
        await server.wait_closed()
