"""Request models and filters (pure): what is accepted and what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.errors import Invalid
from hub.notifications import cursor, filters
from hub.notifications.models import NotificationIn, check_link


def test_links() -> None:
    assert check_link("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert check_link("/relative/path") == "/relative/path"
    assert check_link("") is None and check_link(None) is None
    for bad in (
        "javascript:alert(1)",
        "//evil.example",
        "/\\evil",
        "https://x.example/a b",
        "data:text/html,x",
        "/a\r\nSet-Cookie: x",
        "https://x.example/" + "a" * 2000,
    ):
        with pytest.raises(ValueError):
            check_link(bad)


def test_recipients_and_user_ids() -> None:
    base = {"category": "c", "title": "t"}
    assert NotificationIn(**base, user_ids=["a", "b", "a"]).recipients() == ["a", "b"]
    with pytest.raises(Invalid):
        NotificationIn(**base, user_id="a", user_ids=["b"]).recipients()
    with pytest.raises(Invalid) as err:
        NotificationIn(**base, user_ids=[]).recipients()
    assert "user_ids" in err.value.fields
    for bad in ({"user_id": "has space"}, {"user_ids": ["ok", ""]}, {"user_id": "x" * 201}):
        with pytest.raises(ValidationError):
            NotificationIn(**base, **bad)
    with pytest.raises(ValidationError):
        NotificationIn(**base, user_id="a", email="not-an-email")
    assert NotificationIn(**base, user_id="a", email="a@b.example").email == "a@b.example"


def test_filter_parsing() -> None:
    q = filters.CenterQuery.model_validate({"archived": "all", "is_read": "1"})
    assert q.archived is None and q.is_read is True
    assert filters.CenterQuery.model_validate({"archived": True}).archived is True
    assert filters.CenterQuery.model_validate({"archived": "no"}).archived is False
    assert filters.CenterQuery.model_validate({"date_from": 5}).date_from == 5
    assert filters.CenterQuery.model_validate({"date_from": ""}).date_from is None
    with pytest.raises(ValidationError):
        filters.CenterQuery.model_validate({"date_from": [1]})
    assert filters.ExportQuery().archived is None
    blank = filters.CenterQuery.model_validate({"category": "", "is_read": "", "sort": ""})
    assert blank.category is None and blank.is_read is None and blank.sort == "newest"
    w = filters.where("u", filters.FilterQuery(archived=None, is_read=True, category="c"))
    assert w.sql == "user_id = :u AND is_read AND category = :category"
    assert filters.keyset(None).sql == ""


def test_cursor_round_trip_and_forgery() -> None:
    c = cursor.Cursor(sort="unread_first", id=42, is_read=True)
    text = cursor.encode("s" * 32, c)
    assert cursor.decode("s" * 32, text, "unread_first") == c
    with pytest.raises(Invalid):
        cursor.decode("another-secret" * 3, text, "unread_first")
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("s" * 32, salt="hub.center.cursor").dumps({"s": "newest", "i": "1"})
    with pytest.raises(Invalid):
        cursor.decode("s" * 32, forged, "newest")
