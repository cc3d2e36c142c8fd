"""Pure parts of the real-time layer: frames, seq, replay planning, channels, client frames."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hub.auth import Principal, make_session
from hub.realtime import component, publish, wire
from hub.realtime.backends import backend_from_url
from hub.realtime.conn import run_eagerly
from tests.conftest import SECRET, Hub


def test_frames_round_trip_and_reject_foreign_input() -> None:
    text = wire.with_seq(42, wire.message_tail({"type": "t", "seq": 9, "x": "é\n"}))
    assert json.loads(text) == {"seq": 42, "type": "t", "x": "é\n"}
    assert wire.seq_of(text) == 42
    raw = wire.frame(wire.user_target('we"ird\nid'), text)
    assert wire.parse_frame(raw) == ("u", 'we"ird\nid', text)
    assert wire.parse_frame(wire.frame(wire.channel_target("broadcast"), "{}")) == (
        "c",
        "broadcast",
        "{}",
    )
    for bad in ["", "no newline", 'x"a"\n{}', "u\n{}", "u[1]\n{}", "u{bad\n{}"]:
        assert wire.parse_frame(bad) is None, bad
    assert wire.seq_of('{"type":"x"}') is None
    assert wire.seq_of('{"seq":abc,"type":"x"}') is None
    for bad_message in [{}, {"type": 5}, "text"]:
        with pytest.raises(ValueError):
            wire.message_tail(bad_message)  # type: ignore[arg-type]


def test_multi_frames_carry_a_batch_and_skip_foreign_parts() -> None:
    texts = [wire.with_seq(s, wire.message_tail({"type": "t", "s": s})) for s in (1, 2)]
    frames = [wire.frame(wire.user_target(u), t) for u, t in zip(["a", 'b"\n'], texts)]
    frames.append(wire.frame(wire.channel_target("broadcast"), "{}"))
    raw = wire.multi_frame(frames)
    assert raw.count("\n") == 6  # one line per target and per text, after "m"
    assert wire.parse_frames(raw) == [
        ("u", "a", texts[0]),
        ("u", 'b"\n', texts[1]),
        ("c", "broadcast", "{}"),
    ]
    # a single frame is a batch of one; foreign targets and a dangling line are skipped
    assert wire.parse_frames(frames[0]) == [("u", "a", texts[0])]
    assert wire.parse_frames("nothing of ours") == []
    assert wire.parse_frames(wire.multi_frame(["x1\n{}", frames[0], "u[1]\n{}"]) + "\nu") == [
        ("u", "a", texts[0])
    ]


def test_plan_replay() -> None:
    log = [wire.with_seq(s, '"type":"t"}') for s in range(101, 106)]  # seqs 101..105
    plan = wire.plan_replay
    assert plan(None, 105, log, 1000) == wire.Replay([])
    assert plan(105, 105, log, 1000) == wire.Replay([])
    assert plan(103, 105, log, 1000).messages == log[3:]
    assert plan(100, 105, log, 1000).messages == log
    # older than the log holds, or over the gap limit, or from a reset sequence
    assert plan(99, 105, log, 1000).resync
    assert plan(101, 105, log, 3).resync
    assert plan(500, 105, log, 1000).resync
    assert plan(7, None, [], 1000).resync
    assert plan(0, None, [], 1000) == wire.Replay([])
    # 0 = "the user had nothing when I connected": the whole log, unless it may be trimmed
    assert plan(0, 105, log, 1000).messages == log
    assert plan(0, 105, log, 5).resync


def test_parse_last_id() -> None:
    assert wire.parse_last_id(None) is None and wire.parse_last_id("") is None
    assert wire.parse_last_id(" 12 ") == 12
    for bad in ["-1", "1.5", "x", "9" * 19]:
        with pytest.raises(ValueError):
            wire.parse_last_id(bad)


def test_channels() -> None:
    assert wire.may_join("broadcast", "a", False)
    assert wire.may_join("user:a", "a", False)
    assert not wire.may_join("user:b", "a", False)
    assert not wire.may_join("admin:live", "a", False)
    assert wire.may_join("admin:live", None, True)
    assert not wire.may_join("user:a", None, True)
    assert not wire.may_join("other", "a", True)
    assert wire.check_publish_channel("broadcast") is None
    assert wire.check_publish_channel("user:bob") is None
    assert wire.check_publish_channel("user:") is not None
    assert wire.check_publish_channel("user:has space") is not None
    assert wire.check_publish_channel("nope") is not None


def test_client_frames() -> None:
    assert wire.parse_client_frame('{"type":"ack","id":3}')["id"] == 3
    for text, code in [
        ("{", "invalid_json"),
        ("3", "invalid_frame"),
        ('{"type":"ack","id":true}', "invalid_frame"),
        ('{"type":"ack","id":0}', "invalid_frame"),
        ('{"type":"subscribe","channel":""}', "invalid_frame"),
        ('{"type":"nope"}', "unknown_type"),
    ]:
        with pytest.raises(wire.FrameError) as err:
            wire.parse_client_frame(text)
        assert err.value.code == code
    assert json.loads(wire.error_message("c", "m", x=1)) == {
        "type": "error",
        "code": "c",
        "message": "m",
        "x": 1,
    }


async def test_run_eagerly_finishes_synchronously_or_hands_over() -> None:
    import asyncio

    async def quick() -> None:
        return None

    async def slow(fut: asyncio.Future[None]) -> None:
        await fut
        await asyncio.sleep(0)

    assert run_eagerly(quick()) is None
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    rest = run_eagerly(slow(fut))
    assert rest is not None
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    assert not task.done()
    fut.set_result(None)
    await asyncio.wait_for(task, 1)
    # a non-coroutine awaitable is simply awaited
    fut2: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    fut2.set_result(None)
    rest2 = run_eagerly(fut2)
    assert rest2 is not None
    await rest2


async def test_no_fanout_means_publish_is_a_noop_and_stop_is_safe() -> None:
    await publish.publish(SimpleNamespace(), [("a", {"type": "t"})])
    app = SimpleNamespace(state=SimpleNamespace())
    await component.stop(app)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        backend_from_url("kafka://x", "p", 10)


async def test_live_page_needs_a_user_session(sqlite_hub: Hub, tmp_path: Path) -> None:
    c = sqlite_hub.client
    r = await c.get("/live")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    cookie, _ = make_session(SECRET, Principal(kind="user", user_id="al<i>ce"))
    r = await c.get("/live?transports=sse,evil", cookies={"hub_session": cookie})
    assert r.status_code == 200
    assert 'data-hub-live="/ws/notifications"' in r.text
    assert 'data-hub-transports="sse"' in r.text
    assert "al&lt;i&gt;ce" in r.text and "<i>" not in r.text
    assert "<script>" not in r.text  # only <script type=module src=...>
    assert '<script type="module" src="/static/js/websocket_client.js">' in r.text
    r = await c.get("/static/js/websocket_client.js")
    assert r.status_code == 200 and "innerHTML" not in r.text.split("*/", 1)[1]
    # publishing to a bad channel is refused before anything is sent
    with pytest.raises(ValueError):
        await sqlite_hub.state.fanout.publish_channel("nope", {"type": "t"})
    await sqlite_hub.state.fanout.publish_many([("a", {"no": "type"})])  # dropped, logged


def test_ws_frame_lengths() -> None:
    from websockets.frames import Frame
    from websockets.streams import StreamReader

    for n in (0, 125, 126, 65535, 65536):
        text = "x" * n
        reader = StreamReader()
        reader.feed_data(wire.ws_frame(text))
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame = done.value
        assert frame.data.decode() == text and frame.fin
