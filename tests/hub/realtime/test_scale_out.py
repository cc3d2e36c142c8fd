"""Several hub processes on real Redis (and Postgres) act as one."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from hub.auth import create_api_key, make_user_token
from hub.db import Database
from hub.realtime import wire
from hub.realtime.backends.redis import RedisBackend
from hub.realtime.fanout import Fanout
from tests.conftest import SECRET, free_port, make_settings
from tests.hub.realtime.conftest import HubProcess, close_code, hub_env, next_of, nothing_more


async def _connect(proc: HubProcess, user: str, **params: object) -> websockets.ClientConnection:
    query = "&".join(
        [f"token={make_user_token(SECRET, user)}"] + [f"{k}={v}" for k, v in params.items()]
    )
    ws = await websockets.connect(
        f"ws://127.0.0.1:{proc.port}/ws/notifications?{query}", ping_interval=None
    )
    await next_of(ws, "ready")
    return ws


async def test_two_processes_on_redis_act_as_one(
    pg_database: str, tmp_path: Path, hub_processes: list[HubProcess], redis_url: str
) -> None:
    from tests.conftest import truncate_all

    await truncate_all(pg_database)
    env = hub_env(tmp_path, pg_database, redis_url, f"hubtest{secrets.token_hex(4)}")
    a, b = HubProcess(env, free_port()), HubProcess(env, free_port())
    hub_processes += [a, b]
    await asyncio.gather(asyncio.to_thread(a.start), asyncio.to_thread(b.start))
    db = Database(pg_database)
    await db.connect()
    try:
        _, notify = await create_api_key(db, "producer", ["notify"])
        _, admin = await create_api_key(db, "ops", ["admin"])
    finally:
        await db.disconnect()

    alice_b = await _connect(b, "alice")
    alice_a = await _connect(a, "alice")
    bob_b = await _connect(b, "bob")
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{a.base}/api/notifications",
            json={"user_id": "alice", "category": "c", "title": "from A"},
            headers={"Authorization": f"Bearer {notify}"},
        )
        assert r.status_code == 201, r.text
        for ws in (alice_b, alice_a):
            msg = await next_of(ws, "notification.created")
            assert msg["notification"]["title"] == "from A"
        await nothing_more(bob_b)
        last = msg["seq"]

        # cluster-wide status, seen from either process
        for _ in range(50):
            status = (
                await http.get(
                    f"{a.base}/api/websocket/status", headers={"Authorization": f"Bearer {admin}"}
                )
            ).json()
            if status["cluster"]["processes"] == 2 and status["cluster"]["connections"] == 3:
                break
            await asyncio.sleep(0.2)
        assert status["backend"] == "redis"
        assert status["cluster"] == {
            **status["cluster"],
            "processes": 2,
            "connections": 3,
        }
        assert status["process"]["connections"] == 1

        # a broadcast sent to B reaches sockets on A
        r = await http.post(
            f"{b.base}/api/websocket/broadcast",
            json={"message": {"text": "all"}},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 202
        assert (await next_of(alice_a, "broadcast"))["text"] == "all"

        # resume on another process than the one the client left
        await alice_b.close()
        await http.post(
            f"{a.base}/api/notifications",
            json={"user_id": "alice", "category": "c", "title": "while away"},
            headers={"Authorization": f"Bearer {notify}"},
        )
        again = await websockets.connect(
            f"ws://127.0.0.1:{a.port}/ws/notifications?token={make_user_token(SECRET, 'alice')}"
            f"&last_id={last}",
            ping_interval=None,
        )
        replayed = json.loads(await asyncio.wait_for(again.recv(), 5))
        assert replayed["notification"]["title"] == "while away"
        assert replayed["seq"] == last + 1

    # B shuts down gracefully: its sockets get 1001 and it exits promptly
    code = await asyncio.to_thread(b.stop)
    assert code in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
    assert await close_code(bob_b) == 1001
    await again.close()
    await alice_a.close()


async def test_one_subscription_per_process_and_ordered_subscribe(
    sqlite_url: str, tmp_path: Path, redis_url: str
) -> None:
    """broadcaster traps: subscribe-before-ready (redis-py 8) and concurrent subscribes."""
    settings = make_settings(sqlite_url, tmp_path, broadcast_url=redis_url)
    one, two = Fanout(settings), Fanout(settings)
    await asyncio.gather(one.start(), two.start())  # concurrent start-ups do not clash
    try:
        backend = one.backend
        assert isinstance(backend, RedisBackend)
        subscribers = backend.broadcast._subscribers
        assert list(subscribers) == [one.channel] and len(subscribers[one.channel]) == 1
        # the listener runs only once the SUBSCRIBE was awaited
        assert backend.broadcast._backend._ready.is_set()
        assert backend.broadcast._backend._pubsub.subscribed
        client = aioredis.from_url(redis_url)
        try:
            assert (await client.pubsub_numsub(one.channel))[0][1] == 2
        finally:
            await client.aclose()
        # many users: still one subscription; each frame reaches the other process,
        # the whole batch as one pub/sub message
        got: list[str] = []
        two.dispatch = got.append  # type: ignore[method-assign]
        await one.publish_many([(f"u{i}", {"type": "t", "i": i}) for i in range(100)])
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        assert len(got) == 1
        frames = wire.parse_frames(got[0])
        assert [(kind, name) for kind, name, _ in frames] == [("u", f"u{i}") for i in range(100)]
        assert [json.loads(text)["i"] for _, _, text in frames] == list(range(100))
        assert len(subscribers) == 1
        status = await one.status()
        assert status["cluster"]["processes"] == 2 and status["backend"] == "redis"
        assert {p["id"] for p in status["processes"]} == {one.proc_id, two.proc_id}
        current, log = await backend.log("u5")
        assert current is not None and json.loads(log[-1]) == {"seq": current, "type": "t", "i": 5}
    finally:
        await one.stop()
        await two.stop()


async def test_a_large_batch_is_published_in_chunks_with_consecutive_seqs(
    redis_url: str, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hub.realtime.backends.redis as redis_backend

    monkeypatch.setattr(redis_backend, "PUBLISH_CHUNK", 3)
    settings = make_settings(
        sqlite_url, tmp_path, broadcast_url=redis_url, broadcast_prefix=secrets.token_hex(4)
    )
    fanout = Fanout(settings)
    await fanout.start()
    try:
        got: list[str] = []
        fanout.dispatch = got.append  # type: ignore[method-assign]
        users = ["alice", "bob"] * 3 + ["alice"]
        await fanout.publish_many([(u, {"type": "t", "i": i}) for i, u in enumerate(users)])
        for _ in range(100):
            if len(got) == 3:
                break
            await asyncio.sleep(0.02)
        assert [len(wire.parse_frames(raw)) for raw in got] == [3, 3, 1]  # in order
        frames = [f for raw in got for f in wire.parse_frames(raw)]
        assert [name for _, name, _ in frames] == users
        messages = [json.loads(text) for _, _, text in frames]
        assert [m["i"] for m in messages] == list(range(7))
        alice = [m["seq"] for m in messages if m["i"] % 2 == 0]
        assert alice == list(range(alice[0], alice[0] + 4))
        current, log = await fanout.backend.log("alice")
        assert current == alice[-1] and [json.loads(e) for e in log] == messages[::2]
    finally:
        await fanout.stop()
