"""routing.route and friends: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.delivery.base import CHANNELS
from hub.preferences.routing import (
    Preference,
    digest_due,
    parse_hhmm,
    quiet_until,
    resolve,
    route,
    wall_to_utc,
    zone,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
ALL = tuple(CHANNELS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def by_channel(decisions: list) -> dict:
    return {d.channel: d for d in decisions}


def test_one_decision_per_channel_in_order() -> None:
    ds = route("normal", Preference(), None, utc(2026, 1, 1, 12))
    assert [d.channel for d in ds] == list(CHANNELS)


def test_default_sends_in_app_email_push_and_drops_the_rest() -> None:
    ds = by_channel(route("normal", Preference(), "UTC", utc(2026, 1, 1, 12)))
    assert {c for c, d in ds.items() if d.action == "send"} == {"in_app", "email", "push"}
    assert ds["sms"].action == "drop" and ds["sms"].reason == "not_selected"
    assert ds["email"].reason == "instant"


@pytest.mark.parametrize(
    ("pref", "reason"),
    [
        (Preference(enabled=False, delivery_methods=ALL), "disabled"),
        (Preference(frequency="never", delivery_methods=ALL), "frequency_never"),
    ],
)
def test_disabled_and_never_drop_every_channel(pref: Preference, reason: str) -> None:
    for priority in ("normal", "critical"):
        ds = route(priority, pref, "UTC", utc(2026, 1, 1))
        assert all(d.action == "drop" and d.reason == reason for d in ds)


def test_email_opt_out_drops_only_email_even_when_critical() -> None:
    ds = by_channel(
        route(
            "critical", Preference(delivery_methods=ALL), "UTC", utc(2026, 1, 1), email_opt_out=True
        )
    )
    assert ds["email"].action == "drop" and ds["email"].reason == "email_opt_out"
    assert ds["push"].action == "send" and ds["push"].reason == "critical"


def test_quiet_hours_defer_interruptive_channels_not_webhook_or_in_app() -> None:
    pref = Preference(delivery_methods=ALL, quiet_hours_start="22:00", quiet_hours_end="07:00")
    now = utc(2026, 1, 10, 23, 30)  # 23:30 UTC
    ds = by_channel(route("normal", pref, "UTC", now))
    for ch in ("email", "push", "sms", "chat"):
        assert ds[ch].action == "defer" and ds[ch].reason == "quiet_hours"
        assert ds[ch].until == utc(2026, 1, 11, 7)
    assert ds["webhook"].action == "send"
    assert ds["in_app"].action == "send"


def test_critical_skips_quiet_hours_and_digest_but_respects_channels() -> None:
    pref = Preference(
        delivery_methods=("in_app", "push"),
        quiet_hours_start="00:00",
        quiet_hours_end="23:59",
        frequency="daily",
    )
    now = utc(2026, 1, 10, 12)
    for priority, flag in (("critical", False), ("normal", True)):
        p = Preference(**{**pref.__dict__, "critical": flag})
        ds = by_channel(route(priority, p, "UTC", now))
        assert ds["push"].action == "send" and ds["push"].reason == "critical"
        assert ds["email"].action == "drop" and ds["email"].reason == "not_selected"
    ds = by_channel(route("high", pref, "UTC", now))
    assert ds["push"].action == "drop" and ds["push"].reason == "frequency_daily"


@pytest.mark.parametrize("period", ["daily", "weekly"])
def test_digest_frequency_batches_email_and_drops_other_channels(period: str) -> None:
    pref = Preference(delivery_methods=ALL, frequency=period)
    now = utc(2026, 1, 7, 12)  # a Wednesday, 13:00 in Berlin
    ds = by_channel(route("normal", pref, "Europe/Berlin", now, digest_hour=9))
    assert ds["email"].action == "digest" and ds["email"].period == period
    assert ds["email"].reason == f"digest_{period}"
    expected = utc(2026, 1, 8, 8) if period == "daily" else utc(2026, 1, 12, 8)
    assert ds["email"].until == expected
    for ch in ("push", "sms", "webhook", "chat"):
        assert ds[ch].action == "drop" and ds[ch].reason == f"frequency_{period}"
    assert ds["in_app"].action == "send"


def test_digest_waits_for_quiet_free_time_only_via_its_hour() -> None:
    # a digest row is due at the digest hour even inside quiet hours: the digest is the batch
    pref = Preference(frequency="daily", quiet_hours_start="08:00", quiet_hours_end="10:00")
    ds = by_channel(route("normal", pref, "UTC", utc(2026, 1, 7, 8, 30), digest_hour=9))
    assert ds["email"].action == "digest"
    assert ds["email"].until == utc(2026, 1, 7, 9)


# ---------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("clock", "expected_end"),
    [
        ((21, 59), None),
        ((22, 0), (1, 7, 0)),  # next day 07:00
        ((23, 59), (1, 7, 0)),
        ((0, 0), (0, 7, 0)),
        ((6, 59), (0, 7, 0)),
        ((7, 0), None),
        ((12, 0), None),
    ],
)
def test_quiet_hours_crossing_midnight(clock: tuple, expected_end: tuple | None) -> None:
    now = datetime(2026, 2, 10, *clock, tzinfo=BERLIN).astimezone(UTC)
    got = quiet_until(now, BERLIN, time(22, 0), time(7, 0))
    if expected_end is None:
        assert got is None
    else:
        days, h, m = expected_end
        want = datetime(2026, 2, 10 + days, h, m, tzinfo=BERLIN).astimezone(UTC)
        assert got == want


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [((8, 59), False), ((9, 0), True), ((16, 59), True), ((17, 0), False)],
)
def test_quiet_hours_within_one_day(clock: tuple, quiet: bool) -> None:
    now = datetime(2026, 2, 10, *clock, tzinfo=NY).astimezone(UTC)
    got = quiet_until(now, NY, time(9, 0), time(17, 0))
    assert (got is not None) == quiet
    if quiet:
        assert got == datetime(2026, 2, 10, 17, 0, tzinfo=NY).astimezone(UTC)


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    assert quiet_until(utc(2026, 1, 1, 3), BERLIN, time(3, 0), time(3, 0)) is None


def test_quiet_hours_use_the_users_zone() -> None:
    pref = Preference(quiet_hours_start="22:00", quiet_hours_end="07:00")
    now = utc(2026, 1, 10, 8)  # 08:00 UTC = 03:00 in New York = 09:00 in Berlin
    assert by_channel(route("normal", pref, "UTC", now))["email"].action == "send"
    ny = by_channel(route("normal", pref, "America/New_York", now))["email"]
    assert ny.action == "defer" and ny.until == utc(2026, 1, 10, 12)
    assert by_channel(route("normal", pref, "Europe/Berlin", now))["email"].action == "send"
    berlin = by_channel(route("normal", pref, "Europe/Berlin", utc(2026, 1, 10, 4)))["email"]
    assert berlin.action == "defer" and berlin.until == utc(2026, 1, 10, 6)


# ---------------------------------------------------------------- DST


def test_quiet_end_on_spring_forward_night_is_seven_local_in_summer_time() -> None:
    # 2026-03-08: New York jumps 02:00 EST -> 03:00 EDT
    now = datetime(2026, 3, 7, 23, 0, tzinfo=NY).astimezone(UTC)
    got = quiet_until(now, NY, time(22, 0), time(7, 0))
    assert got == utc(2026, 3, 8, 11, 0)  # 07:00 EDT (UTC-4), not 12:00
    assert got - now == timedelta(hours=7)  # one hour shorter night


def test_quiet_end_inside_the_spring_forward_gap_ends_at_the_jump() -> None:
    now = datetime(2026, 3, 8, 1, 15, tzinfo=NY).astimezone(UTC)
    got = quiet_until(now, NY, time(1, 0), time(2, 30))
    assert got == utc(2026, 3, 8, 7, 0)  # 02:00 EST == 03:00 EDT, the jump
    assert got.astimezone(NY).hour == 3


def test_quiet_end_on_fall_back_night_is_seven_local_in_winter_time() -> None:
    # 2026-11-01: New York falls back 02:00 EDT -> 01:00 EST
    now = datetime(2026, 10, 31, 23, 0, tzinfo=NY).astimezone(UTC)
    got = quiet_until(now, NY, time(22, 0), time(7, 0))
    assert got == utc(2026, 11, 1, 12, 0)  # 07:00 EST (UTC-5)
    assert got - now == timedelta(hours=9)  # one hour longer night


def test_quiet_end_at_a_repeated_wall_time() -> None:
    # quiet 00:00-01:30; 01:30 happens twice on fall-back night
    first_pass = utc(2026, 11, 1, 5, 0)  # 01:00 EDT
    got = quiet_until(first_pass, NY, time(0, 0), time(1, 30))
    assert got == utc(2026, 11, 1, 5, 30)  # the first 01:30 (EDT)
    second_pass = utc(2026, 11, 1, 6, 10)  # 01:10 EST, after the clock went back
    got = quiet_until(second_pass, NY, time(0, 0), time(1, 30))
    assert got == utc(2026, 11, 1, 6, 30)  # the second 01:30 (EST), still in the future


def test_wall_to_utc_plain_and_gap() -> None:
    from datetime import date

    assert wall_to_utc(date(2026, 6, 1), time(9, 0), BERLIN) == utc(2026, 6, 1, 7)
    assert wall_to_utc(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_daily_digest_across_dst_keeps_local_hour() -> None:
    before = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN).astimezone(UTC)
    due = digest_due(before, BERLIN, 9, "daily")
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 9, 0)
    assert due == utc(2026, 3, 29, 7, 0)  # CEST now


def test_digest_due_is_strictly_after_now() -> None:
    now = utc(2026, 1, 7, 9, 0)
    assert digest_due(now, ZoneInfo("UTC"), 9, "daily") == utc(2026, 1, 8, 9, 0)
    assert digest_due(now - timedelta(seconds=1), ZoneInfo("UTC"), 9, "daily") == now
    # Monday 09:00 exactly -> next Monday
    assert digest_due(utc(2026, 1, 12, 9), ZoneInfo("UTC"), 9, "weekly") == utc(2026, 1, 19, 9)


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize("bad", ["7:00", "24:00", "12:60", "ab:cd", "12-00", "", "12:000"])
def test_parse_hhmm_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(bad)


def test_parse_hhmm_accepts() -> None:
    assert parse_hhmm("00:00") == time(0, 0)
    assert parse_hhmm("23:59") == time(23, 59)


@pytest.mark.parametrize("bad", ["Mars/Base", "../etc/passwd", "/etc/localtime", "x" * 70])
def test_zone_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        zone(bad)


def test_zone_defaults_to_utc_and_bad_names_route_as_utc() -> None:
    assert zone(None).key == "UTC"
    ds = route("normal", Preference(), "Not/AZone", utc(2026, 1, 1))
    assert by_channel(ds)["email"].action == "send"


def test_resolve_precedence_and_critical_flag() -> None:
    user = {
        "billing": Preference(delivery_methods=("email",)),
        "*": Preference(delivery_methods=("push",)),
    }
    defaults = {
        "security": Preference(delivery_methods=("sms",), critical=True),
        "*": Preference(delivery_methods=("chat",)),
        "billing": Preference(critical=True),
    }
    assert resolve("billing", user, defaults) == Preference(
        delivery_methods=("email",), critical=True
    )
    assert resolve("security", user, defaults).delivery_methods == ("push",)
    assert resolve("security", user, defaults).critical is True
    assert resolve("social", {}, defaults).delivery_methods == ("chat",)
    assert resolve("security", {}, defaults).delivery_methods == ("sms",)
    assert resolve("social", {}, {}) == Preference()
