"""mime.compose: the bytes parse back to what went in."""

from __future__ import annotations

import email
import email.policy

import pytest

from hub.delivery.mime import compose


def test_round_trip_with_unicode_long_lines_and_dots() -> None:
    body = "Grüße, " + "x" * 3000 + "\n.\nlast ☃ line"
    data = compose(
        [("Subject", "Zahlung erhalten – 42 €"), ("To", "a@example.com")],
        body,
        "<p>" + body + "</p>",
    )
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == "Zahlung erhalten – 42 €"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == body
    assert "last ☃ line" in msg.get_body(("html",)).get_content()


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        compose([("Subject", "hi\r\nBcc: victim@example.com")], "x", "y")
