"""The real pyfcm (and google-auth) against a local FCM v1 API and OAuth2 token endpoint."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from hub.delivery.fcm import FCMClient, classify, error_code
from hub.settings import Settings
from tests.fakes.fcm_server import error_body, make_service_account
from tests.fakes.fixtures import PROJECT, FCMFixture, delivery, fcm

__all__ = ["fcm"]

TOKEN = "fcm:APA91b-device-one"


def service_account(fx: FCMFixture) -> dict:
    return json.loads(Path(fx.settings["fcm_credentials_path"]).read_text())


def client(fx: FCMFixture, **overrides: object) -> FCMClient:
    settings = Settings(secret_key="x", base_url="https://hub.example", **fx.settings)
    return FCMClient(settings.with_(**overrides), timeout=5)


async def test_android_push_gets_oauth_token_and_sends_v1_message(fcm: FCMFixture) -> None:
    c = client(fcm)
    try:
        first = await c.send(TOKEN, "android", delivery(priority="high"))
        second = await c.send(TOKEN, "android", delivery(id=2, link=None, data=None))
    finally:
        await c.close()
    assert first.ok and second.ok, (first, second, fcm.fake.rejected)
    assert fcm.fake.rejected == []
    assert fcm.fake.token_requests >= 1 and len(fcm.fake.issued) >= 1
    got = fcm.fake.received[0]
    assert got["content_type"] == "application/json"
    assert got["path"] == f"/v1/projects/{PROJECT}/messages:send"
    assert got["authorization"].startswith("Bearer ya29.")
    assert got["message"] == {
        "token": TOKEN,
        "notification": {"title": "Paid", "body": "Thanks for your payment"},
        "data": {
            "notification_id": "10",
            "category": "billing",
            "link": "/billing/1",
            "data": json.dumps({"amount": 5}),
        },
        "android": {"priority": "high", "notification": {"tag": "billing"}},
    }
    plain = fcm.fake.received[1]["message"]
    assert plain["data"] == {"notification_id": "10", "category": "billing"}
    assert plain["android"]["priority"] == "normal"


async def test_web_push_uses_webpush_config_with_https_link(fcm: FCMFixture) -> None:
    c = client(fcm)
    try:
        assert (await c.send(TOKEN, "web", delivery())).ok
        assert (await c.send(TOKEN, "web", delivery(link="http://insecure/x"))).ok
    finally:
        await c.close()
    web = fcm.fake.received[0]["message"]
    assert "android" not in web
    assert web["webpush"] == {
        "headers": {"Urgency": "normal"},
        "fcm_options": {"link": "https://hub.example/billing/1"},
    }
    assert "fcm_options" not in fcm.fake.received[1]["message"]["webpush"]


async def test_dead_and_failing_tokens(fcm: FCMFixture) -> None:
    fcm.fake.answers = {
        "gone": (404, "UNREGISTERED"),
        "busy": (429, "QUOTA_EXCEEDED"),
        "down": (503, "UNAVAILABLE"),
        "bad": (400, "INVALID_ARGUMENT"),
        "other": (403, "SENDER_ID_MISMATCH"),
    }
    c = client(fcm)
    try:
        gone, busy, down, bad, other = [
            await c.send(t, "android", delivery()) for t in fcm.fake.answers
        ]
    finally:
        await c.close()
    assert gone.dead and gone.code == "fcm_unregistered"
    assert busy.transient and busy.code == "fcm_quota_exceeded"
    assert down.transient and down.code == "fcm_unavailable"
    assert not bad.transient and not bad.dead and bad.code == "fcm_invalid_argument"
    assert not other.transient and other.code == "fcm_sender_id_mismatch"


async def test_service_account_signed_with_another_key_is_refused(
    fcm: FCMFixture, tmp_path: Path
) -> None:
    # same token_uri, different key: the token endpoint cannot verify the assertion
    forged = tmp_path / "forged.json"
    make_service_account(
        forged,
        PROJECT,
        token_uri=service_account(fcm)["token_uri"],
    )
    c = client(fcm, fcm_credentials_path=str(forged))
    try:
        result = await c.send(TOKEN, "android", delivery())
    finally:
        await c.close()
    assert not result.ok and result.code == "fcm_auth" and not result.transient
    assert fcm.fake.received == [] and fcm.fake.rejected


async def test_wrong_project_and_unreachable_service(fcm: FCMFixture, tmp_path: Path) -> None:
    sa = service_account(fcm)
    sa.pop("project_id")
    no_project = tmp_path / "no-project.json"
    no_project.write_text(json.dumps(sa))
    c = client(fcm, fcm_credentials_path=str(no_project), fcm_project_id="someone-else")
    try:
        wrong = await c.send(TOKEN, "android", delivery())
    finally:
        await c.close()
    assert wrong.code == "fcm_sender_id_mismatch"
    missing = client(fcm, fcm_credentials_path=str(tmp_path / "none.json"))
    assert (await missing.send(TOKEN, "android", delivery())).code == "fcm_auth"
    await missing.close()
    await fcm.fake.stop()
    down = client(fcm)
    try:
        result = await down.send(TOKEN, "android", delivery())
    finally:
        await down.close()
    assert result.transient and result.code in ("fcm_auth", "fcm_connection")
    assert not FCMClient(Settings(secret_key="x")).configured


@pytest.mark.parametrize(
    ("status", "body", "dead", "transient", "code"),
    [
        (200, {"name": "x"}, False, False, None),
        (404, error_body(404, "UNREGISTERED"), True, False, "fcm_unregistered"),
        (404, None, True, False, "fcm_status_404"),
        (500, {"error": {"code": 500, "status": "INTERNAL"}}, False, True, "fcm_internal"),
        (502, "not json", False, True, "fcm_status_502"),
        (
            401,
            error_body(401, "THIRD_PARTY_AUTH_ERROR"),
            False,
            False,
            "fcm_third_party_auth_error",
        ),
    ],
)
def test_classify(status, body, dead, transient, code) -> None:
    r = classify("t", "android", status, body)
    assert (r.ok, r.dead, r.transient, r.code) == (status == 200, dead, transient, code)


def test_error_code_ignores_odd_shapes() -> None:
    assert error_code([1]) is None and error_code({"error": "x"}) is None
    assert error_code({"error": {"details": [{"nope": 1}]}}) is None


async def test_revoked_access_token_is_refreshed_once(fcm: FCMFixture) -> None:
    c = client(fcm)
    try:
        assert (await c.send(TOKEN, "android", delivery())).ok
        fcm.fake.issued.clear()  # the service forgets the token: the next call gets 401
        assert (await c.send(TOKEN, "android", delivery(id=2))).ok
    finally:
        await c.close()
    assert fcm.fake.token_requests == 2 and len(fcm.fake.received) == 2


async def test_unreachable_api_and_non_json_answers(fcm: FCMFixture) -> None:
    closed = client(fcm, fcm_url="http://127.0.0.1:9")
    try:
        down = await closed.send(TOKEN, "android", delivery())
    finally:
        await closed.close()
    assert down.transient and down.code == "fcm_connection"
    odd = client(fcm, fcm_url=fcm.settings["fcm_url"] + "/elsewhere")
    try:
        text_404 = await odd.send(TOKEN, "android", delivery())
    finally:
        await odd.close()
    assert text_404.code == "fcm_status_404"  # aiohttp's plain-text 404, not FCM JSON


async def test_proxy_from_the_environment_is_used(fcm: FCMFixture, monkeypatch) -> None:
    # the token endpoint (127.0.0.1) is reached directly, the API (localhost) through a
    # proxy that refuses connections: the send must fail on the proxy, transiently
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    api = fcm.settings["fcm_url"].replace("127.0.0.1", "localhost")
    c = client(fcm, fcm_url=api)
    try:
        result = await c.send(TOKEN, "android", delivery())
    finally:
        await c.close()
    assert result.transient and result.code == "fcm_connection"
    assert fcm.fake.token_requests == 1 and fcm.fake.received == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    direct = client(fcm, fcm_url=api)
    try:
        assert (await direct.send(TOKEN, "android", delivery())).ok
    finally:
        await direct.close()


async def test_concurrent_sends_share_one_token_and_connections_without_threads(
    fcm: FCMFixture,
) -> None:
    # pyfcm builds the payload and fetches the access token (once for all waiting sends);
    # the messages go over one pooled aiohttp session, not a thread per push
    c = client(fcm)
    threads = threading.active_count()
    try:
        results = await asyncio.gather(
            *(c.send(f"fcm:tok-{i}", "android", delivery(id=i)) for i in range(50))
        )
        in_flight_threads = threading.active_count()
        more = await asyncio.gather(
            *(c.send(f"fcm:tok-{i}", "web", delivery(id=100 + i)) for i in range(50))
        )
    finally:
        await c.close()
    assert all(r.ok for r in results + more), fcm.fake.rejected
    assert fcm.fake.token_requests == 1 and len(fcm.fake.issued) == 1
    assert {m["authorization"] for m in fcm.fake.received} == {
        f"Bearer {t}" for t in fcm.fake.issued
    }
    assert len(fcm.fake.received) == 100
    # the one token fetch ran on asyncio's default executor; no per-send pool remains
    assert in_flight_threads <= threads + 1
    assert fcm.fake.connections <= 32 < 100


async def test_client_survives_a_new_event_loop(fcm: FCMFixture) -> None:
    # e.g. a test or `hub worker` after `hub serve`: the session belongs to its loop
    c = client(fcm)
    assert (await c.send(TOKEN, "android", delivery())).ok
    await c.close()

    async def send_and_close() -> bool:
        try:
            return (await c.send(TOKEN, "android", delivery(id=2))).ok
        finally:
            await c.close()

    def other_loop() -> bool:
        return asyncio.run(send_and_close())

    try:
        assert await asyncio.to_thread(other_loop)  # a session bound to that loop
        assert (await c.send(TOKEN, "android", delivery(id=3))).ok
    finally:
        await c.close()
    assert len(fcm.fake.received) == 3


async def test_a_refused_token_fetch_is_not_repeated_by_every_waiting_send(
    fcm: FCMFixture, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.json"
    make_service_account(forged, PROJECT, token_uri=service_account(fcm)["token_uri"])
    c = client(fcm, fcm_credentials_path=str(forged))
    try:
        results = await asyncio.gather(
            *(c.send(f"fcm:tok-{i}", "android", delivery(id=i)) for i in range(20))
        )
    finally:
        await c.close()
    assert {(r.code, r.transient) for r in results} == {("fcm_auth", False)}
    assert fcm.fake.token_requests == 1 and fcm.fake.received == []
