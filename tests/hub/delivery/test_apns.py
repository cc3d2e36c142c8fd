"""The real aioapns against a local HTTP/2 + TLS APNs server: path, headers, JWT, answers."""

from __future__ import annotations

import jwt
import pytest

from hub.delivery.apns import APNsClient, classify
from hub.settings import Settings
from tests.fakes.fixtures import KEY_ID, TEAM_ID, TOPIC, APNsFixture, apns, delivery

__all__ = ["apns"]

TOKEN = "ab" * 32


def client(fx: APNsFixture, **overrides: object) -> APNsClient:
    return APNsClient(Settings(secret_key="x", **{**fx.settings, **overrides}), timeout=5)


async def test_push_reaches_apns_with_protocol_headers_and_payload(apns: APNsFixture) -> None:
    c = client(apns)
    try:
        result = await c.send(TOKEN, delivery(priority="high"))
    finally:
        await c.close()
    assert result.ok and not result.dead, result
    assert apns.fake.rejected == []
    [got] = apns.fake.received
    assert got.token == TOKEN
    h = got.headers
    assert h[":method"] == "POST" and h[":path"] == f"/3/device/{TOKEN}"
    assert h["apns-topic"] == TOPIC and h["apns-push-type"] == "alert"
    assert h["apns-priority"] == "10"
    assert len(h["apns-id"]) == 36
    scheme, token = h["authorization"].split(" ", 1)
    assert scheme.lower() == "bearer"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == KEY_ID
    claims = jwt.decode(token, apns.fake.public_key, algorithms=["ES256"])
    assert claims["iss"] == TEAM_ID
    assert got.payload == {
        "aps": {
            "alert": {"title": "Paid", "body": "Thanks for your payment"},
            "sound": "default",
            "thread-id": "billing",
        },
        "notification_id": 10,
        "category": "billing",
        "link": "/billing/1",
        "data": {"amount": 5},
    }


async def test_low_priority_and_topic_override(apns: APNsFixture) -> None:
    c = client(apns)
    try:
        low = await c.send(TOKEN, delivery(priority="low", link=None, data=None))
        other_app = await c.send(TOKEN, delivery(id=2), topic="com.other.app")
    finally:
        await c.close()
    assert low.ok
    first = apns.fake.received[0]
    assert first.headers["apns-priority"] == "5"
    assert "link" not in first.payload and "data" not in first.payload
    # the device's app is sent as apns-topic; this server only serves TOPIC
    assert not other_app.ok and not other_app.dead and not other_app.transient
    assert other_app.code == "apns_device_token_not_for_topic"


async def test_dead_tokens_and_transient_errors(apns: APNsFixture) -> None:
    apns.fake.answers = {
        "01" * 32: (400, "BadDeviceToken"),
        "02" * 32: (410, "Unregistered"),
        "03" * 32: (503, "ServiceUnavailable"),
        "04" * 32: (429, "TooManyRequests"),
        "05" * 32: (413, "PayloadTooLarge"),
    }
    c = client(apns)
    try:
        results = [await c.send(t, delivery()) for t in apns.fake.answers]
    finally:
        await c.close()
    bad, gone, down, busy, big = results
    assert bad.dead and bad.code == "apns_bad_device_token"
    assert gone.dead and gone.code == "apns_unregistered"
    assert down.transient and not down.dead and down.code == "apns_service_unavailable"
    assert busy.transient and busy.code == "apns_too_many_requests"
    assert not big.transient and not big.dead and big.code == "apns_payload_too_large"


async def test_wrong_signing_key_is_refused_by_the_server(apns: APNsFixture, tmp_path) -> None:
    from tests.fakes.apns_server import make_p8_key

    other = tmp_path / "other.p8"
    other.write_text(make_p8_key()[0])
    c = client(apns, apns_key_path=str(other))
    try:
        result = await c.send(TOKEN, delivery())
    finally:
        await c.close()
    assert not result.ok and result.code == "apns_invalid_provider_token"
    assert apns.fake.rejected == ["InvalidProviderToken"] and apns.fake.received == []


async def test_unreachable_server_is_transient_and_bad_config_is_reported(
    apns: APNsFixture, tmp_path
) -> None:
    await apns.fake.stop()
    c = client(apns)
    try:
        down = await c.send(TOKEN, delivery())
    finally:
        await c.close()
    assert down.transient and down.code == "apns_connection"
    missing = client(apns, apns_key_path=str(tmp_path / "nope.p8"))
    result = await missing.send(TOKEN, delivery())
    assert not result.ok and not result.transient and result.code == "apns_config"
    bad_url = client(apns, apns_url="http://127.0.0.1:1")
    assert (await bad_url.send(TOKEN, delivery())).code == "apns_config"
    assert not APNsClient(Settings(secret_key="x")).configured
    assert client(apns).configured


@pytest.mark.parametrize(
    ("status", "reason", "dead", "transient", "code"),
    [
        ("200", None, False, False, None),
        ("400", "BadDeviceToken", True, False, "apns_bad_device_token"),
        ("410", "ExpiredToken", True, False, "apns_expired_token"),
        ("410", None, True, False, "apns_status_410"),
        ("403", "ExpiredProviderToken", False, True, "apns_expired_provider_token"),
        ("500", "InternalServerError", False, True, "apns_internal_server_error"),
        ("400", "BadTopic", False, False, "apns_bad_topic"),
    ],
)
def test_classify(status: str, reason: str | None, dead: bool, transient: bool, code) -> None:
    r = classify("t", status, reason)
    assert (r.ok, r.dead, r.transient, r.code) == (status == "200", dead, transient, code)


async def test_no_answer_times_out_as_transient(apns: APNsFixture) -> None:
    apns.fake.answers = {TOKEN: (0, "")}
    c = APNsClient(Settings(secret_key="x", **apns.settings), timeout=0.3)
    try:
        result = await c.send(TOKEN, delivery())
    finally:
        await c.close()
    assert result.transient and result.code == "apns_timeout"


async def test_apple_hosts_by_default(apns: APNsFixture) -> None:
    for sandbox, host in ((False, "api.push.apple.com"), (True, "api.development.push.apple.com")):
        c = client(apns, apns_url="", apns_sandbox=sandbox)
        protocol = c._get().pool.protocol_class
        assert (protocol.APNS_SERVER, protocol.APNS_PORT) == (host, 443)
        await c.close()
