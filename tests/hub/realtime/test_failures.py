"""When the backend fails after commit, requests still succeed and the failure is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.realtime.fanout import Fanout
from tests.conftest import make_settings


async def test_publish_and_status_survive_a_lost_redis(
    sqlite_url: str, tmp_path: Path, redis_url: str
) -> None:
    fanout = Fanout(make_settings(sqlite_url, tmp_path, broadcast_url=redis_url))
    await fanout.start()
    try:
        client = fanout.backend.client  # type: ignore[attr-defined]
        # point the publishing client at a port where nothing listens
        client.connection_pool.connection_kwargs["port"] = 1
        await client.connection_pool.disconnect()
        client.connection_pool.reset()
        await fanout.publish_many([("alice", {"type": "t"})])
        await fanout.publish_channel("broadcast", {"type": "t"})
        assert fanout.stats.publish_errors == 1  # the channel frame goes through broadcaster
        status = await fanout.status()
        assert status["cluster"]["processes"] == 1
        assert status["process"]["publish_errors"] == 1
    finally:
        client.connection_pool.connection_kwargs["port"] = 6379
        await fanout.stop()


async def test_a_worker_process_can_publish_to_serving_processes(
    sqlite_url: str, tmp_path: Path, redis_url: str
) -> None:
    from hub.realtime import component
    from tests.hub.realtime.conftest import next_of, serve

    settings = make_settings(sqlite_url, tmp_path, broadcast_url=redis_url)
    assert await component.start_publisher(settings.with_(broadcast_url="memory://")) is None
    async with serve(settings) as live:
        ws, _ = await live.ws_ready("alice")
        worker = await component.start_publisher(settings)
        assert worker is not None
        try:
            await worker.publish_many([("alice", {"type": "activity.created", "n": 1})])
            assert (await next_of(ws, "activity.created"))["n"] == 1
        finally:
            await worker.stop()


async def test_a_dead_subscription_is_replaced_and_sockets_refilled(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    import asyncio

    from hub.realtime import fanout as fanout_module
    from tests.hub.realtime.conftest import next_of, serve

    monkeypatch.setattr(fanout_module, "REPORT_EVERY_S", 0.05)
    settings = make_settings(sqlite_url, tmp_path, broadcast_url=redis_url)
    async with serve(settings) as live:
        ws, _ = await live.ws_ready("alice")
        fanout = live.fanout
        await fanout.publish_many([("alice", {"type": "n", "i": 1})])
        assert (await next_of(ws, "n"))["i"] == 1
        # the pub/sub listener dies, as when redis-py gives up reconnecting
        fanout.backend.broadcast._backend._listener.cancel()
        await asyncio.sleep(0.01)
        assert not fanout.backend.healthy()
        await fanout.publish_many([("alice", {"type": "n", "i": 2})])  # lost live
        for _ in range(200):
            if fanout.stats.resubscribes:
                break
            await asyncio.sleep(0.02)
        assert fanout.stats.resubscribes == 1 and fanout.backend.healthy()
        await fanout.publish_many([("alice", {"type": "n", "i": 3})])
        got = [await next_of(ws, "n") for _ in range(2)]
        assert [m["i"] for m in got] == [2, 3]
        assert (await fanout.status())["process"]["resubscribes"] == 1
