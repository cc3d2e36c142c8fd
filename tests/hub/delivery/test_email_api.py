"""Email endpoints: test email, email settings, unsubscribe tokens, bounce webhook."""

from __future__ import annotations

from pathlib import Path

from hub.delivery.unsubscribe import make_token, read_token
from tests.conftest import SECRET, Hub
from tests.hub.delivery.conftest import SmtpServer, drain, profile

UNSUB = "/api/notifications/email/unsubscribe"


async def test_test_email_goes_to_the_signed_in_users_address(
    mail_hub: Hub, smtp: SmtpServer
) -> None:
    hub = mail_hub
    r = await hub.client.post("/api/notifications/email/test", headers=hub.user("alice"))
    assert r.status_code == 422 and "email" in r.json()["error"]["fields"]
    await profile(hub, "alice", email="alice@example.com")
    r = await hub.client.post("/api/notifications/email/test", headers=hub.user("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "sent" and r.json()["to"] == "alice@example.com"
    (msg,) = smtp.to("alice@example.com")
    assert msg["Subject"] == "Test email from hub"
    assert (await hub.client.post("/api/notifications/email/test")).status_code == 401
    key = await hub.key("admin")
    r = await hub.client.post("/api/notifications/email/test", headers=key)
    assert r.status_code == 403


async def test_test_email_without_transport_is_503(sqlite_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_settings, start_hub

    async for hub in start_hub(make_settings(sqlite_url, tmp_path, email_url="")):
        await profile(hub, "a", email="a@example.com")
        r = await hub.client.post("/api/notifications/email/test", headers=hub.user("a"))
        assert r.status_code == 503


async def test_email_preferences_get_put_and_opt_out_routes(
    mail_hub: Hub, smtp: SmtpServer
) -> None:
    hub = mail_hub
    await profile(hub, "bob", email="bob@example.com")
    url = "/api/notifications/email/preferences"
    r = await hub.client.get(url, headers=hub.user("bob"))
    assert r.json() == {
        "email": "bob@example.com",
        "email_opt_out": False,
        "digest_hour": 9,
        "timezone": "UTC",
        "bounced": False,
    }
    r = await hub.client.put(url, json={"digest_hour": 24}, headers=hub.user("bob"))
    assert r.status_code == 422 and "digest_hour" in r.json()["error"]["fields"]
    r = await hub.client.put(url, json={"email_opt_out": None}, headers=hub.user("bob"))
    assert r.status_code == 422
    r = await hub.client.put(
        url, json={"email_opt_out": True, "digest_hour": 7}, headers=hub.user("bob")
    )
    assert r.status_code == 200
    assert r.json()["email_opt_out"] is True and r.json()["digest_hour"] == 7
    await hub.send("bob", title="muted")
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries") == 0
    # critical notifications respect the opt-out too (it is a channel choice)
    await hub.send("bob", title="alarm", priority="critical")
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries") == 0
    await hub.client.put(url, json={"email_opt_out": False}, headers=hub.user("bob"))
    await hub.send("bob", title="back")
    await drain(hub)
    assert len(smtp.to("bob@example.com")) == 1


async def test_unsubscribe_tokens(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    await profile(hub, "carol", email="carol@example.com")
    everything = make_token(SECRET, "carol", "*")
    r = await hub.client.post(f"{UNSUB}?token={everything}")
    assert r.status_code == 200 and r.json()["category"] == "*"
    prefs = (
        await hub.client.get("/api/notifications/email/preferences", headers=hub.user("carol"))
    ).json()
    assert prefs["email_opt_out"] is True
    # form field works too; a category token removes email from that category only
    billing = make_token(SECRET, "carol", "billing")
    r = await hub.client.post(UNSUB, data={"token": billing})
    assert r.status_code == 200
    row = await hub.db.fetch_one(
        "SELECT delivery_methods FROM notification_preferences WHERE user_id = 'carol'"
    )
    assert row == {"delivery_methods": "in_app,push"}
    events = await hub.db.fetch_all(
        "SELECT event, user_id, category, channel FROM outbox WHERE event = 'unsubscribed'"
    )
    assert events == [
        {"event": "unsubscribed", "user_id": "carol", "category": None, "channel": "email"},
        {"event": "unsubscribed", "user_id": "carol", "category": "billing", "channel": "email"},
    ]
    # forged, tampered, signed with another key, expired, missing: 400
    forged = make_token("another-secret-key-xxxxxxxxxxxxxxxxxxxx", "carol", "*")
    for bad in (forged, everything[:-2] + "xx", "garbage"):
        r = await hub.client.post(f"{UNSUB}?token={bad}")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
    assert (await hub.client.post(UNSUB)).status_code == 400
    try:
        read_token(SECRET, everything, max_age=-1)
    except ValueError as exc:
        assert str(exc) == "expired"
    else:
        raise AssertionError("an expired token must not pass")
    # GET shows a confirmation page and changes nothing
    r = await hub.client.get(f"{UNSUB}?token=%22%3E%3Cscript%3E")
    assert r.status_code == 200 and "<script>" not in r.text and "method=post" in r.text


async def test_expired_token_is_400(sqlite_hub: Hub, monkeypatch) -> None:
    import hub.delivery.unsubscribe as unsub

    token = make_token(SECRET, "dora", "*")
    monkeypatch.setattr(unsub, "MAX_AGE", -1)
    r = await sqlite_hub.client.post(f"{UNSUB}?token={token}")
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]


async def test_bounce_webhook_suppresses_the_address(mail_hub: Hub, smtp: SmtpServer) -> None:
    hub = mail_hub
    await profile(hub, "dan", email="Dan@Example.com")
    url = "/api/notifications/email/bounces"
    notify = await hub.key("notify")
    body = {"email": "dan@example.com", "reason": "550 gone"}
    assert (await hub.client.post(url, json=body, headers=notify)).status_code == 403
    assert (await hub.client.post(url, json=body)).status_code == 401
    admin = await hub.key("admin")
    r = await hub.client.post(url, json={"email": "nope"}, headers=admin)
    assert r.status_code == 422 and "email" in r.json()["error"]["fields"]
    r = await hub.client.post(url, json=body, headers=admin)
    assert r.status_code == 200 and r.json()["users"] == 1
    ev = await hub.db.fetch_one("SELECT user_id, error_code FROM outbox WHERE event = 'bounced'")
    assert ev == {"user_id": "dan", "error_code": "bounce_webhook"}
    prefs = (
        await hub.client.get("/api/notifications/email/preferences", headers=hub.user("dan"))
    ).json()
    assert prefs["bounced"] is True
    await hub.send("dan", title="never arrives")
    await drain(hub)
    assert smtp.recorder.messages == []
    assert await hub.db.fetch_val("SELECT status FROM deliveries") == "suppressed"
