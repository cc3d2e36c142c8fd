"""Email through a real SMTP server (aiosmtpd in the test's loop): content, headers,
templates, bounces, transient failures and retries."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.delivery import email as email_mod
from hub.delivery.base import Delivery
from hub.delivery.email import EmailSender, FileTransport, SmtpTransport, classify
from hub.settings import Settings
from tests.conftest import SECRET, Hub
from tests.hub.delivery.conftest import SmtpRecorder, SmtpServer, drain, profile, start_smtp


async def events(hub: Hub, kind: str) -> list[dict]:
    return await hub.db.fetch_all(
        "SELECT event, channel, user_id, latency_ms, error_code, notification_id FROM outbox"
        " WHERE event = :e ORDER BY id",
        {"e": kind},
    )


async def test_notification_email_arrives_with_parts_and_headers(
    mail_hub: Hub, smtp: SmtpServer
) -> None:
    hub = mail_hub
    await profile(hub, "alice", email="alice@example.com")
    sent = await hub.send(
        "alice", category="general", title="Hello <Alice>", body="Body & more", link="/x/1"
    )
    nid = sent["ids"][0]
    row = await hub.db.fetch_one("SELECT status, channel, address FROM deliveries")
    assert row == {"status": "pending", "channel": "email", "address": "alice@example.com"}
    assert await drain(hub) == 1
    (msg,) = smtp.to("alice@example.com")
    assert msg["Subject"] == "Hello <Alice>"
    assert msg["To"] == "alice@example.com"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Hub-Template"] == "notification"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Body & more" in text and "http://127.0.0.1:8000/x/1" in text
    assert "Hello &lt;Alice&gt;" in html and "Body &amp; more" in html
    # the one-click link works without login
    unsub = msg["List-Unsubscribe"].strip("<>")
    parts = urlsplit(unsub)
    assert parts.path == "/api/notifications/email/unsubscribe"
    r = await hub.client.post(
        parts.path + "?" + parts.query,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["category"] == "general"
    row = await hub.db.fetch_one("SELECT status, attempts, sent_at FROM deliveries")
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"]
    (ev,) = await events(hub, "sent")
    assert ev["channel"] == "email" and ev["notification_id"] == nid
    assert ev["latency_ms"] is not None and ev["latency_ms"] >= 0
    assert len(await events(hub, "unsubscribed")) == 1
    # unsubscribed from "general" email: the next one makes no email row
    await hub.send("alice", category="general", title="again")
    assert await hub.db.fetch_val("SELECT COUNT(*) FROM deliveries") == 1
    assert parse_qs(parts.query)["token"]


@pytest.mark.parametrize(
    ("category", "data", "expect"),
    [
        ("payment_received", {"amount": "42.00", "currency": "EUR"}, "42.00"),
        ("billing", {"template": "refund_issued", "amount": "7.50"}, "7.50"),
        ("billing", {"template": "balance_low", "balance": "3", "threshold": "10"}, "below"),
        ("kyc", {"template": "verification_initiated", "document": "passport"}, "passport"),
        ("kyc", {"template": "verification_complete", "document": "ID-9"}, "ID-9"),
        (
            "phone",
            {"template": "sms_received", "sender": "+4912345", "text": "code 1234"},
            "code 1234",
        ),
        ("billing", {"template": "no_such_template"}, "Hello"),
    ],
)
async def test_templates_by_category_or_data(
    sqlite_url: str, tmp_path: Path, smtp: SmtpServer, category: str, data: dict, expect: str
) -> None:
    from tests.conftest import make_settings, start_hub

    async for hub in start_hub(make_settings(sqlite_url, tmp_path, email_url=smtp.url)):
        await profile(hub, "u1", email="u1@example.com")
        await hub.send("u1", category=category, title="Hello", data=data)
        await drain(hub)
        (msg,) = smtp.to("u1@example.com")
        assert expect in msg.get_body(("plain",)).get_content()
        assert expect in msg.get_body(("html",)).get_content()
        want = data.get("template", category)
        if want == "no_such_template":
            want = "notification"
        assert msg["X-Hub-Template"] == want


async def test_email_override_wins_over_profile(mail_hub: Hub, smtp: SmtpServer) -> None:
    hub = mail_hub
    await profile(hub, "bob", email="bob@example.com")
    await hub.send("bob", title="to the other address", email="billing@example.org")
    await drain(hub)
    assert len(smtp.to("billing@example.org")) == 1 and smtp.to("bob@example.com") == []


async def test_no_address_no_email_row(mail_hub: Hub) -> None:
    await mail_hub.send("nobody", title="hi")
    assert await mail_hub.db.fetch_val("SELECT COUNT(*) FROM deliveries") == 0


async def test_permanent_5xx_bounces_and_suppresses(mail_hub: Hub, smtp: SmtpServer) -> None:
    hub = mail_hub
    smtp.recorder.refuse["gone@example.com"] = "550 5.1.1 mailbox unavailable"
    await profile(hub, "carol", email="Gone@example.com")
    # RCPT compares case-sensitively in the fake; refuse both spellings
    smtp.recorder.refuse["Gone@example.com"] = "550 5.1.1 mailbox unavailable"
    await hub.send("carol", title="one")
    await drain(hub)
    row = await hub.db.fetch_one("SELECT status, error_code, last_error FROM deliveries")
    assert row["status"] == "bounced" and row["error_code"] == "smtp_5xx"
    assert "550" in row["last_error"]
    assert await hub.db.fetch_val("SELECT address FROM email_suppressions") == "gone@example.com"
    assert len(await events(hub, "bounced")) == 1
    # the next email to the address is suppressed without touching the server
    smtp.recorder.refuse.clear()
    await hub.send("carol", title="two")
    await drain(hub)
    row = await hub.db.fetch_one("SELECT status, error_code FROM deliveries ORDER BY id DESC")
    assert row == {"status": "suppressed", "error_code": "address_suppressed"}
    assert smtp.recorder.messages == []
    assert len(await events(hub, "suppressed")) == 1


async def test_transient_4xx_retries_then_dead_letter_then_admin_retry(
    mail_hub: Hub, smtp: SmtpServer
) -> None:
    hub = mail_hub
    smtp.recorder.refuse["dan@example.com"] = "451 4.3.0 try again later"
    await profile(hub, "dan", email="dan@example.com")
    await hub.send("dan", title="retry me")
    await drain(hub)  # max attempts 3, backoff of milliseconds
    row = await hub.db.fetch_one("SELECT id, status, attempts, error_code FROM deliveries")
    assert row["status"] == "failed" and row["attempts"] == 3 and row["error_code"] == "smtp_4xx"
    assert len(await events(hub, "deferred")) == 2  # two retries scheduled
    assert len(await events(hub, "failed")) == 1
    admin = await hub.key("admin")
    r = await hub.client.get("/api/deliveries?status=failed", headers=admin)
    assert r.status_code == 200
    (listed,) = r.json()["deliveries"]
    assert listed["id"] == row["id"] and listed["error_code"] == "smtp_4xx"
    # not dead yet cannot be retried; unknown is 404; only admins
    notify = await hub.key("notify")
    assert (
        await hub.client.post(f"/api/deliveries/{row['id']}/retry", headers=notify)
    ).status_code == 403
    assert (await hub.client.post("/api/deliveries/999999/retry", headers=admin)).status_code == 404
    smtp.recorder.refuse.clear()
    r = await hub.client.post(f"/api/deliveries/{row['id']}/retry", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = await hub.client.post(f"/api/deliveries/{row['id']}/retry", headers=admin)
    assert r.status_code == 409
    await drain(hub)
    assert len(smtp.to("dan@example.com")) == 1
    assert await hub.db.fetch_val("SELECT status FROM deliveries") == "sent"


async def test_server_down_is_transient(sqlite_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_settings, start_hub

    srv = await start_smtp()
    port = srv.port
    srv.server.close()
    await srv.server.wait_closed()
    settings = make_settings(sqlite_url, tmp_path, email_url=f"smtp://127.0.0.1:{port}")
    async for hub in start_hub(settings):
        await profile(hub, "eve", email="eve@example.com")
        await hub.send("eve", title="x")
        await drain(hub)
        row = await hub.db.fetch_one("SELECT status, error_code, next_attempt_at FROM deliveries")
        assert row["status"] == "pending" and row["error_code"] == "smtp_connection"


async def test_smtp_auth_credentials_are_used(tmp_path: Path) -> None:
    srv = await start_smtp(SmtpRecorder(credentials=("mailer", "s3cr3t")))
    try:
        settings = Settings(secret_key=SECRET, email_url="")
        ok = EmailSender(settings, SmtpTransport(f"smtp://mailer:s3cr3t@127.0.0.1:{srv.port}"))
        d = Delivery(1, 1, "u", "email", 0, "general", "Hi", "there", address="u@example.com")
        assert (await ok.send(d)).outcome == "sent"
        assert srv.recorder.logins == ["mailer"]
        await ok.close()
        bad = EmailSender(settings, SmtpTransport(f"smtp://mailer:wrong@127.0.0.1:{srv.port}"))
        res = await bad.send(d)
        assert res.outcome == "failed" and res.transient and res.error_code == "smtp_auth"
        assert "wrong" not in (res.error or "")
        await bad.close()
    finally:
        srv.server.close()
        await srv.server.wait_closed()


async def test_unusual_addresses(smtp: SmtpServer) -> None:
    sender = EmailSender(Settings(secret_key=SECRET, email_url=""), SmtpTransport(smtp.url))
    plain = Delivery(1, 1, "u", "email", 0, "general", "q", "x", address="o'n+tag@mail.example")
    assert (await sender.send(plain)).outcome == "sent"
    assert smtp.recorder.messages[0][1] == ["o'n+tag@mail.example"]
    for address in ("a<b>@example.com", "jörg@example.com", "x@y.z>\r\nRCPT TO:<v@w.x"):
        odd = Delivery(2, 2, "u", "email", 0, "general", "w", "x", address=address)
        res = await sender.send(odd)
        assert res.outcome == "failed" and not res.transient and res.error_code == "invalid_address"
    assert len(smtp.recorder.messages) == 1
    await sender.close()


async def test_file_transport_writes_eml(tmp_path: Path) -> None:
    settings = Settings(secret_key=SECRET, email_url=f"file://{tmp_path}/mail")
    sender = email_mod.build_sender(type("S", (), {"settings": settings})())
    assert sender is not None and isinstance(sender.transport, FileTransport)
    d = Delivery(7, 3, "u", "email", 0, "general", "Saved", "to disk", address="u@example.com")
    res = await sender.send(d)
    assert res.outcome == "sent"
    (path,) = (tmp_path / "mail").glob("*.eml")
    text = path.read_text()
    assert "Subject: Saved" in text and "List-Unsubscribe-Post" in text
    none = await sender.send(Delivery(8, 3, "u", "email", 0, "general", "x", "y"))
    assert none.outcome == "suppressed" and none.error_code == "no_address"


def test_transport_from_url_and_classify() -> None:
    import aiosmtplib

    t = email_mod.transport_from_url("smtp://u:p%40ss@mail.example.com?starttls=1")
    assert isinstance(t, SmtpTransport)
    assert (t.host, t.port, t.start_tls, t.use_tls, t.password) == (
        "mail.example.com",
        587,
        True,
        False,
        "p@ss",
    )
    f = email_mod.transport_from_url("file://var/mail")
    assert isinstance(f, FileTransport) and str(f.directory) == "var/mail"
    f = email_mod.transport_from_url("file:///srv/hub%20mail")
    assert isinstance(f, FileTransport) and str(f.directory) == "/srv/hub mail"
    t = email_mod.transport_from_url("smtps://mail.example.com")
    assert isinstance(t, SmtpTransport) and t.use_tls and t.port == 465
    with pytest.raises(ValueError):
        email_mod.transport_from_url("ftp://u:pw@x")
    r = classify(aiosmtplib.SMTPDataError(554, "spam"))
    assert r.outcome == "bounced" and r.error_code == "smtp_5xx"
    r = classify(aiosmtplib.SMTPSenderRefused(553, "bad sender", "a@b"))
    assert r.outcome == "failed" and not r.transient
    r = classify(aiosmtplib.SMTPSenderRefused(421, "busy", "a@b"))
    assert r.transient
    r = classify(aiosmtplib.SMTPHeloError(501, "who are you"))
    assert r.transient and r.error_code == "smtp_helo" and r.outcome == "failed"
    r = classify(ConnectionRefusedError("nope"))
    assert r.transient and r.error_code == "smtp_connection"
