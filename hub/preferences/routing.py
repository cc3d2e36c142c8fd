"""Who gets what, on which channel, and when: pure functions over plain data.

`route()` turns (notification priority, the effective preference, the user's
time zone, now) into one `Decision` per channel: send now, defer until a time
(quiet hours), add to the daily/weekly digest, or drop, always with a reason.
Nothing here does I/O, so every rule is tested exhaustively without a database.

Rules, in order, for each channel:

1. not among the preference's ``delivery_methods`` → drop ``not_selected``
2. category disabled → drop ``disabled``; frequency ``never`` → drop ``frequency_never``
3. email while the user opted out of email → drop ``email_opt_out``
4. ``in_app`` → send (the stored notification is the in-app delivery; quiet
   hours and digests never hide it from the notification center)
5. critical (the notification's priority or the category's admin flag) → send
   ``critical``: it skips quiet hours and digests but still obeys 1–3
6. frequency daily/weekly → email goes into that digest (due at the user's
   digest hour, local time); other out-of-band channels drop ``frequency_<f>``
   because the digest email is the batched form of the notification
7. inside quiet hours (local time, may cross midnight) → email, push, sms and
   chat are deferred to the end of the quiet period; webhook is machine to
   machine and is not deferred
8. otherwise → send ``instant``
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.delivery.base import CHANNELS

FREQUENCIES = ("instant", "daily", "weekly", "never")
DEFAULT_METHODS = ("in_app", "email", "push")
QUIET_CHANNELS = frozenset({"email", "push", "sms", "chat"})
DIGEST_WEEKDAY = 0  # weekly digests go out on Monday

Action = Literal["send", "defer", "digest", "drop"]


@dataclass(frozen=True)
class Preference:
    """The effective preference of one user for one category."""

    enabled: bool = True
    delivery_methods: tuple[str, ...] = DEFAULT_METHODS
    quiet_hours_start: str | None = None  # "HH:MM", local time
    quiet_hours_end: str | None = None
    frequency: str = "instant"
    critical: bool = False  # set by the admin per category


@dataclass(frozen=True)
class Decision:
    channel: str
    action: Action
    reason: str
    until: datetime | None = None  # defer/digest: when it is due (UTC)
    period: str | None = None  # digest: daily | weekly


def parse_hhmm(value: str) -> time:
    """A "HH:MM" (24 h) string as a time; ValueError otherwise."""
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError("must be HH:MM (24-hour)")
    hour, minute = int(value[:2]), int(value[3:])
    if hour > 23 or minute > 59:
        raise ValueError("must be HH:MM (24-hour)")
    return time(hour, minute)


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone, UTC when unset; ValueError for an unknown name."""
    if not name:
        return ZoneInfo("UTC")
    if name.startswith(("/", ".")) or ".." in name or len(name) > 64:
        raise ValueError("not an IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone name") from None


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def wall_to_utc(day: date, wall: time, tz: ZoneInfo, after: datetime | None = None) -> datetime:
    """The first UTC instant at which the local clock shows `day` `wall` (after `after`).

    A wall time repeated by a DST fall-back gives its first occurrence that is
    later than `after`; a wall time skipped by a spring-forward gives the
    instant of the jump, the first moment the clock is past it.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        # in a gap: fold=1 lands before the jump and fold=0 after it; find the jump
        lo, hi = int(min(first, second).timestamp()), int(max(first, second).timestamp())
        after_jump = _offset(datetime.fromtimestamp(hi, UTC), tz)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(datetime.fromtimestamp(mid, UTC), tz) == after_jump:
                hi = mid
            else:
                lo = mid
        return datetime.fromtimestamp(hi, UTC)
    for candidate in sorted({first, second}):
        if after is None or candidate > after:
            return candidate
    return max(first, second)


def quiet_until(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet period that contains `now` ends (UTC), or None if not quiet.

    start == end means no quiet hours. A period with start > end crosses midnight.
    """
    if start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if not (start <= clock < end):
            return None
        end_day = today
    elif clock >= start:
        end_day = today + timedelta(days=1)
    elif clock < end:
        end_day = today
    else:
        return None
    until = wall_to_utc(end_day, end, tz, after=now)
    return until if until > now else None


def digest_due(now: datetime, tz: ZoneInfo, hour: int, period: str) -> datetime:
    """The next local `hour`:00 after `now` (on a Monday for weekly digests), in UTC."""
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(9):
        if period != "weekly" or day.weekday() == DIGEST_WEEKDAY:
            due = wall_to_utc(day, time(hour, 0), tz, after=now)
            if due > now:
                return due
        day += timedelta(days=1)
    raise AssertionError("unreachable: a due time exists within 8 days")


def route(
    priority: str,
    pref: Preference,
    tz_name: str | None,
    now: datetime,
    *,
    email_opt_out: bool = False,
    digest_hour: int = 9,
) -> list[Decision]:
    """One decision per channel (in CHANNELS order) for one notification."""
    try:
        tz = zone(tz_name)
    except ValueError:
        tz = ZoneInfo("UTC")  # profiles are validated on write; never fail a send over it
    critical = priority == "critical" or pref.critical
    quiet_end: datetime | None = None
    if pref.quiet_hours_start and pref.quiet_hours_end:
        quiet_end = quiet_until(
            now, tz, parse_hhmm(pref.quiet_hours_start), parse_hhmm(pref.quiet_hours_end)
        )
    decisions = []
    for channel in CHANNELS:
        decisions.append(
            _decide(channel, pref, critical, quiet_end, tz, now, email_opt_out, digest_hour)
        )
    return decisions


def _decide(
    channel: str,
    pref: Preference,
    critical: bool,
    quiet_end: datetime | None,
    tz: ZoneInfo,
    now: datetime,
    email_opt_out: bool,
    digest_hour: int,
) -> Decision:
    if channel not in pref.delivery_methods:
        return Decision(channel, "drop", "not_selected")
    if not pref.enabled:
        return Decision(channel, "drop", "disabled")
    if pref.frequency == "never":
        return Decision(channel, "drop", "frequency_never")
    if channel == "email" and email_opt_out:
        return Decision(channel, "drop", "email_opt_out")
    if channel == "in_app":
        return Decision(channel, "send", "instant")
    if critical:
        return Decision(channel, "send", "critical")
    if pref.frequency in ("daily", "weekly"):
        if channel == "email":
            due = digest_due(now, tz, digest_hour, pref.frequency)
            return Decision(
                channel, "digest", f"digest_{pref.frequency}", until=due, period=pref.frequency
            )
        return Decision(channel, "drop", f"frequency_{pref.frequency}")
    if quiet_end is not None and channel in QUIET_CHANNELS:
        return Decision(channel, "defer", "quiet_hours", until=quiet_end)
    return Decision(channel, "send", "instant")


def resolve(
    category: str,
    user_prefs: dict[str, Preference],
    defaults: dict[str, Preference],
) -> Preference:
    """The effective preference for `category`.

    The first of: the user's row for the category, the user's '*' row, the
    admin default for the category, the admin '*' default, the built-in
    default. The admin's critical flag for the category always applies.
    """
    critical = defaults[category].critical if category in defaults else False
    for source in (
        user_prefs.get(category),
        user_prefs.get("*"),
        defaults.get(category),
        defaults.get("*"),
    ):
        if source is not None:
            return Preference(
                enabled=source.enabled,
                delivery_methods=source.delivery_methods,
                quiet_hours_start=source.quiet_hours_start,
                quiet_hours_end=source.quiet_hours_end,
                frequency=source.frequency,
                critical=critical,
            )
    return Preference(critical=critical)
