"""Chat and SMS through the real Apprise to a local HTTP endpoint (json:// and form://)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.delivery.chat import (
    AppriseSender,
    build_sender,
    build_sms_sender,
    classify,
    sms_url,
    url_problem,
)
from hub.settings import Settings
from tests.fakes.fixtures import delivery
from tests.fakes.receivers import Endpoint, endpoint

__all__ = ["endpoint"]


def sender(channel: str, **settings: Any) -> AppriseSender:
    return AppriseSender(
        channel, Settings(secret_key="x", base_url="https://hub.example", **settings)
    )


async def test_chat_to_the_users_apprise_url(endpoint: Endpoint) -> None:
    s = sender("chat")
    try:
        result = await s.send(delivery(channel="chat", address=f"json://{endpoint.host}/slack"))
    finally:
        await s.close()
    assert result.outcome == "sent", result
    [got] = endpoint.got
    assert got["path"] == "/slack"
    assert got["body"]["title"] == "Paid"
    assert got["body"]["message"] == "Thanks for your payment\nhttps://hub.example/billing/1"


async def test_chat_falls_back_to_the_app_url_and_form_target(endpoint: Endpoint) -> None:
    s = sender("chat", chat_url=f"form://{endpoint.host}/team")
    try:
        result = await s.send(delivery(channel="chat", address=None, body="", link=None))
    finally:
        await s.close()
    assert result.outcome == "sent"
    assert endpoint.got[0]["path"] == "/team"
    assert endpoint.got[0]["body"]["title"] == "Paid"


async def test_sms_fills_the_provider_template_with_the_phone(endpoint: Endpoint) -> None:
    s = sender("sms", sms_url=f"json://{endpoint.host}/sms?:to={{phone}}")
    try:
        result = await s.send(delivery(channel="sms", address="+15551234567"))
    finally:
        await s.close()
    assert result.outcome == "sent"
    [got] = endpoint.got
    assert got["path"] == "/sms" and got["body"]["to"] == "+15551234567"
    assert got["body"]["message"].startswith("Thanks for your payment")


@pytest.mark.parametrize(
    ("query", "transient", "code"),
    [("-s=400", False, "chat_400"), ("-s=503", True, "chat_503"), ("-s=429", True, "chat_429")],
)
async def test_service_answers_map_to_retry_or_failure(
    endpoint: Endpoint, query: str, transient: bool, code: str
) -> None:
    s = sender("chat")
    try:
        result = await s.send(delivery(address=f"json://{endpoint.host}/x?{query}"))
    finally:
        await s.close()
    assert result.outcome == "failed" and result.transient is transient
    assert result.error_code == code and code[-3:] in (result.error or "")


async def test_unusable_or_missing_targets() -> None:
    chat, sms = sender("chat"), sender("sms")
    no_provider = sender("sms")
    with_provider = sender("sms", sms_url="json://127.0.0.1:9/sms?:to={phone}")
    try:
        bad = await chat.send(delivery(address="nosuchservice://token@x"))
        assert bad.outcome == "failed" and not bad.transient
        assert bad.error_code == "chat_bad_url" and "token" not in (bad.error or "")
        down = await chat.send(delivery(address="json://127.0.0.1:9/x"))
        assert down.transient and down.error_code == "chat_unreachable"
        none = await chat.send(delivery(address=None))
        assert none.outcome == "suppressed" and none.error_code == "no_address"
        unconfigured = await no_provider.send(delivery(address="+15551234567"))
        assert unconfigured.outcome == "suppressed"
        assert unconfigured.error_code == "no_credentials"
        assert (await with_provider.send(delivery(address=None))).error_code == "no_address"
        wrong = await with_provider.send(delivery(address="call me"))
        assert wrong.outcome == "failed" and wrong.error_code == "sms_bad_number"
    finally:
        for s in (chat, sms, no_provider, with_provider):
            await s.close()


def test_helpers() -> None:
    assert url_problem("json://localhost/x") is None
    assert url_problem("nosuchservice://x") and url_problem("")
    assert sms_url("json://h/p?:to={phone}", "+1555") == "json://h/p?:to=%2B1555"
    assert classify("sms", "SUCCESS", []).outcome == "sent"
    assert classify("sms", "TIMEOUT", []).error_code == "sms_timeout"
    assert classify("chat", "FAILURE", []).error_code == "chat_unreachable"


async def test_factories_build_both_channels(sqlite_hub) -> None:
    chat, sms = build_sender(sqlite_hub.state), build_sms_sender(sqlite_hub.state)
    assert (chat.channel, sms.channel) == ("chat", "sms")
    await chat.close()
    await sms.close()
