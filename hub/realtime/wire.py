"""The wire format of live messages, and the pure decisions about them.

Every process holds ONE subscription to ``<prefix>:live`` and dispatches
locally. A frame on that channel is ``<target>\\n<message JSON>`` where the
target is ``u<json user id>`` (one user's sockets) or ``c<json channel>``
(everyone subscribed to a named channel such as ``broadcast``). The message
text after the newline is sent to sockets unchanged, so a message is
serialised once however many sockets receive it.

A backend publishes the messages of one ``publish_users`` call as ONE frame,
``m\n<target>\n<text>\n<target>\n<text>...``: every process then handles one
pub/sub message per batch instead of one per message. Targets and texts never
contain a raw newline (they are compact JSON).

Messages to a user carry ``"seq"`` as their first key: a per-user sequence
assigned where the message is logged (atomically with the publish), so the
order of ``seq`` is the order on the channel and a client may resume with
the last one it saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BROADCAST = "broadcast"
ADMIN_LIVE = "admin:live"
USER_PREFIX = "user:"

CLIENT_TYPES = ("ping", "pong", "ack", "subscribe", "unsubscribe")
ACK_ACTIONS = ("read", "clicked")


# built once: json.dumps makes a new encoder per call when given options
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(message: dict[str, Any]) -> str:
    return _encode(message)


def message_tail(message: dict[str, Any]) -> str:
    """The message JSON without its opening brace, ready for ``{"seq":N,`` in front."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("a live message is a dict with a string 'type'")
    message = {k: v for k, v in message.items() if k != "seq"}
    return dumps(message)[1:]


def with_seq(seq: int, tail: str) -> str:
    return f'{{"seq":{seq},{tail}'


def user_target(user_id: str) -> str:
    return "u" + json.dumps(user_id)


def channel_target(channel: str) -> str:
    return "c" + json.dumps(channel)


def frame(target: str, text: str) -> str:
    return target + "\n" + text


MULTI = "m\n"


def multi_frame(frames: list[str]) -> str:
    """One channel message carrying several frames (see ``parse_frames``)."""
    return MULTI + "\n".join(frames)


def _target(head: str) -> tuple[str, str] | None:
    if len(head) < 3 or head[0] not in "uc":
        return None
    try:
        name = json.loads(head[1:])
    except ValueError:
        return None
    if not isinstance(name, str):
        return None
    return head[0], name


def parse_frame(raw: str) -> tuple[str, str, str] | None:
    """``(kind, name, text)`` of a channel frame, or None if it is not one of ours."""
    head, sep, text = raw.partition("\n")
    target = _target(head) if sep else None
    if target is None:
        return None
    return target[0], target[1], text


def parse_frames(raw: str) -> list[tuple[str, str, str]]:
    """The ``(kind, name, text)`` of every frame in a channel message (one or a multi
    frame); whatever is not ours is skipped."""
    if not raw.startswith(MULTI):
        one = parse_frame(raw)
        return [] if one is None else [one]
    lines = raw[len(MULTI) :].split("\n")
    out = []
    for i in range(0, len(lines) - 1, 2):
        target = _target(lines[i])
        if target is not None:
            out.append((target[0], target[1], lines[i + 1]))
    return out


def seq_of(text: str) -> int | None:
    """The seq of a message text built by ``with_seq`` (no JSON parse on the hot path)."""
    if not text.startswith('{"seq":'):
        return None
    end = text.find(",", 7)
    try:
        return int(text[7:end])
    except ValueError:
        return None


def ws_frame(text: str) -> bytes:
    """``text`` as one unmasked, uncompressed WebSocket text frame (server to client)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


# ---------------------------------------------------------------- resume


@dataclass(frozen=True)
class Replay:
    """What a reconnecting client gets: the missed messages, or a resync."""

    messages: list[str]
    resync: bool = False


def plan_replay(last_id: int | None, current: int | None, log: list[str], max_gap: int) -> Replay:
    """Decide what to replay after ``last_id`` given the log of the newest messages.

    ``current`` is the user's latest seq (None: nothing was ever logged, or it
    expired); ``log`` holds the newest messages in seq order, ending at
    ``current``. Sequences start from a time-based base after every reset, so a
    client's ``last_id`` from before a reset is never mistaken for a newer one.
    """
    if last_id is None:
        return Replay([])
    if current is None:
        # no log at all: the client knew of messages we no longer have
        return Replay([], resync=last_id > 0)
    if last_id == current:
        return Replay([])
    if last_id == 0:
        # "ready" said 0: the user had no log then, so all of it is newer,
        # unless it is full and may have been trimmed
        return Replay(list(log)) if len(log) < max_gap else Replay([], resync=True)
    if last_id > current:
        return Replay([], resync=True)
    gap = current - last_id
    first = current - len(log) + 1
    if gap > max_gap or last_id + 1 < first:
        return Replay([], resync=True)
    return Replay(log[last_id + 1 - first :])


def parse_last_id(value: str | None) -> int | None:
    """A ``last_id`` / ``Last-Event-ID`` value, or None when absent or unusable."""
    if value is None or value == "":
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        raise ValueError("last_id must be a non-negative integer")
    return int(value)


# ---------------------------------------------------------------- channels


def own_channel(user_id: str) -> str:
    return USER_PREFIX + user_id


def may_join(channel: str, user_id: str | None, is_admin: bool) -> bool:
    """Channels a connection may subscribe to: its own, broadcast, and admin:live for
    admins and analysts (``is_admin``: may follow admin:live)."""
    if channel == BROADCAST:
        return True
    if channel == ADMIN_LIVE:
        return is_admin
    if user_id is not None and channel == own_channel(user_id):
        return True
    return False


def check_publish_channel(channel: str) -> str | None:
    """Why ``channel`` cannot be published to, or None when it can."""
    if channel in (BROADCAST, ADMIN_LIVE):
        return None
    if channel.startswith(USER_PREFIX):
        user = channel[len(USER_PREFIX) :]
        if 0 < len(user) <= 200 and not any(c.isspace() or ord(c) < 32 for c in user):
            return None
        return "user channel needs a user id of 1-200 printable characters"
    return f"choose {BROADCAST}, {ADMIN_LIVE} or {USER_PREFIX}<user id>"


# ---------------------------------------------------------------- client frames


class FrameError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_client_frame(text: str) -> dict[str, Any]:
    """Validate a client frame; raises FrameError with a stable code."""
    try:
        data = json.loads(text)
    except ValueError:
        raise FrameError("invalid_json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "frame must be a JSON object")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise FrameError("unknown_type", f"type must be one of {', '.join(CLIENT_TYPES)}")
    if kind == "ack":
        nid = data.get("id")
        if not isinstance(nid, int) or isinstance(nid, bool) or nid <= 0:
            raise FrameError("invalid_frame", "id: a positive integer notification id")
        if data.get("action", "read") not in ACK_ACTIONS:
            raise FrameError("invalid_frame", "action: read or clicked")
    if kind in ("subscribe", "unsubscribe"):
        channel = data.get("channel")
        if not isinstance(channel, str) or not channel or len(channel) > 250:
            raise FrameError("invalid_frame", "channel: a channel name")
    return data


def error_message(code: str, message: str, **extra: Any) -> str:
    return dumps({"type": "error", "code": code, "message": message, **extra})
