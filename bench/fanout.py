"""Fan-out benchmark: N connected users, targeted messages at R/s, broadcasts to all.

Starts real hub processes (``python -m hub serve``), connects N WebSocket users
from separate client processes (a minimal asyncio WebSocket client, so the
clients are cheap and measured), sends targeted messages at a fixed rate and
reports connect time, send -> receipt delay percentiles, loss, server RSS per
idle connection and server/client CPU.

Paths (what a message goes through):
  api        POST /api/notifications (database write + outbox + fan-out)
  broadcast  POST /api/websocket/broadcast to "user:<id>" (HTTP + fan-out, no database)
  fanout     publish straight into Redis the way a worker process does (fan-out alone)

Backends: memory (one process), redis (one process), redis2 (two processes behind Redis;
clients split between them, messages sent to both).

    .venv/bin/python bench/fanout.py --conns 1000 --rate 500 --backend redis --path fanout

Writes bench/results/fanout-<backend>-<path>-<conns>-<rate>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import random
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- process stats


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stat_cpu_s(raw: str) -> float:
    """User + system CPU seconds from the text of a /proc/<pid>/stat."""
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def cpu_s(pid: int) -> float:
    return stat_cpu_s(Path(f"/proc/{pid}/stat").read_text())


def quiet_gc(disable: bool = False) -> None:
    """Keep the bench's own processes from pausing for collections while measuring."""
    gc.collect()
    gc.freeze()
    if disable:
        gc.disable()
    else:
        gc.set_threshold(100_000, 50, 1000)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def all_cpu() -> tuple[float, dict[int, tuple[str, float]]]:
    """Busy CPU seconds of the whole machine, and (name, CPU seconds) of every process."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    ticks = [int(v) for v in fields]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / CLK  # all but idle and iowait
    procs: dict[int, tuple[str, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            raw = (d / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        procs[int(d.name)] = (comm, stat_cpu_s(raw))
    return busy, procs


class CpuShares:
    """Who used the machine's cores between start() and stop(), in % of one core:
    the given pid groups, Postgres and Redis (by process name), and everything else."""

    NAMED = {"postgres": ("postgres",), "redis": ("redis-server",)}

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.t0 = 0.0
        self.busy0 = 0.0
        self.procs0: dict[int, tuple[str, float]] = {}

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.busy0, self.procs0 = all_cpu()

    def stop(self) -> dict[str, Any]:
        busy1, procs1 = all_cpu()
        wall = time.perf_counter() - self.t0

        def used(pid: int) -> float:
            now = procs1.get(pid)
            if now is None:
                return 0.0
            before = self.procs0.get(pid)
            return now[1] - (before[1] if before and before[0] == now[0] else 0.0)

        out: dict[str, Any] = {}
        counted = 0.0
        for name, pids in self.groups.items():
            each = [used(pid) for pid in pids]
            counted += sum(each)
            out[name] = (
                [round(100 * v / wall, 1) for v in each]
                if len(each) > 1
                else (round(100 * sum(each) / wall, 1))
            )
        mine = {pid for pids in self.groups.values() for pid in pids}
        for name, comms in self.NAMED.items():
            v = sum(
                used(pid) for pid, (comm, _) in procs1.items() if comm in comms and pid not in mine
            )
            counted += v
            out[name] = round(100 * v / wall, 1)
        out["other"] = round(100 * max(0.0, busy1 - self.busy0 - counted) / wall, 1)
        out["machine"] = round(100 * (busy1 - self.busy0) / wall, 1)
        return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# ---------------------------------------------------------------- a minimal WebSocket client


class WsClient(asyncio.Protocol):
    """Just enough WebSocket for the benchmark: handshake, unmasked server frames, pongs."""

    def __init__(self, sink: list[tuple[float, float, str]], ready: asyncio.Future[None]) -> None:
        self.sink = sink
        self.ready = ready
        self.buf = b""
        self.handshaken = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.handshaken:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buf[:end]:
                if not self.ready.done():
                    self.ready.set_exception(RuntimeError(self.buf[:end].decode()))
                return
            self.handshaken = True
            self.buf = self.buf[end + 4 :]
        now = time.time()
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1]
            length, off = b1 & 0x7F, 2
            if length == 126:
                if len(self.buf) < 4:
                    return
                length, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif length == 127:
                if len(self.buf) < 10:
                    return
                length, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < off + length:
                return
            payload, self.buf = self.buf[off : off + length], self.buf[off + length :]
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_text(now, payload)
            elif opcode == 9:
                self.send_frame(10, payload)
            elif opcode == 8:
                self.transport.close()  # type: ignore[union-attr]

    def on_text(self, now: float, payload: bytes) -> None:
        msg = json.loads(payload)
        kind = msg.get("type")
        if kind == "ready":
            if not self.ready.done():
                self.ready.set_result(None)
            return
        if kind == "ping":
            self.send_frame(1, b'{"type":"pong"}')
            return
        t, k = msg.get("t"), msg.get("k", kind)
        if t is None and kind == "notification.created":
            data = msg["notification"].get("data") or {}
            t, k = data.get("t"), data.get("k", kind)
        if t is not None:
            self.sink.append((now, float(t), str(k)))

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head = bytes([0x80 | opcode, 0x80 | len(payload)])
        self.transport.write(head + mask + masked)  # type: ignore[union-attr]


async def open_ws(port: int, token: str, sink: list[Any]) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    started = time.perf_counter()
    transport, proto = await loop.create_connection(
        lambda: WsClient(sink, ready), "127.0.0.1", port
    )
    key = base64.b64encode(os.urandom(16)).decode()
    transport.write(
        (
            f"GET /ws/notifications?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await asyncio.wait_for(ready, 60)
    return transport, time.perf_counter() - started


def client_main(
    ports: list[int], users: list[str], tokens: list[str], conn: Any, stop: Any
) -> None:
    """One client process: connect its users, collect receipts until told to stop."""

    async def run() -> None:
        sink: list[tuple[float, float, str]] = []
        sem = asyncio.Semaphore(200)  # pace the handshakes (listen backlog)
        times: list[float] = []

        async def one(i: int) -> Any:
            async with sem:
                transport, took = await open_ws(ports[i % len(ports)], tokens[i], sink)
                times.append(took)
                return transport

        t0 = time.perf_counter()
        transports = await asyncio.gather(*(one(i) for i in range(len(users))))
        connect_wall = time.perf_counter() - t0
        # a collection here would stall receipts and count as the hub's latency: this
        # process makes little cyclic garbage, so it runs without the collector
        quiet_gc(disable=True)
        cpu0 = time.process_time()
        conn.send({"connected": len(transports), "connect_wall": connect_wall, "times": times})
        while not stop.is_set():  # noqa: ASYNC110 - a process-shared event
            await asyncio.sleep(0.1)
        conn.send(
            {
                "received": [(now - t, k, t) for now, t, k in sink],
                "cpu_s": time.process_time() - cpu0,
            }
        )
        for t in transports:
            t.close()

    asyncio.run(run())


# ---------------------------------------------------------------- senders


class HttpSender:
    """Keep-alive HTTP/1.1 POSTs over raw sockets (cheap, so the sender is not the limit)."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.port, self.path, self.headers = port, path, headers
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.errors = 0

    async def open(self, n: int) -> None:
        for _ in range(n):
            self.pool.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def post(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        req = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{head}Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data
        reader, writer = await self.pool.get()
        try:
            writer.write(req)
            status_head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in status_head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if b" 20" not in status_head[:13]:
                self.errors += 1
        finally:
            self.pool.put_nowait((reader, writer))


async def send_loop(
    args: argparse.Namespace,
    ports: list[int],
    users: list[str],
    admin: str,
    notify: str,
    pids: list[int],
    client_pids: list[int],
) -> dict[str, Any]:
    """Targeted messages at args.rate for args.seconds, then args.broadcasts broadcasts."""
    senders: list[Any] = []
    redis_backend = None
    if args.path == "fanout":
        from hub.realtime.backends.redis import RedisBackend

        redis_backend = RedisBackend(args.redis, prefix=args.prefix, max_log=1000)
        await redis_backend.client.ping()
    for port in ports:
        if args.path == "api":
            s = HttpSender(port, "/api/notifications", {"Authorization": f"Bearer {notify}"})
        else:
            s = HttpSender(port, "/api/websocket/broadcast", {"Authorization": f"Bearer {admin}"})
        await s.open(64)
        senders.append(s)
    bcast = HttpSender(ports[0], "/api/websocket/broadcast", {"Authorization": f"Bearer {admin}"})
    await bcast.open(1)

    tasks: set[asyncio.Task[None]] = set()
    channel = f"{args.prefix}:live"

    async def at_rate(seconds: float, tag: dict[str, str]) -> tuple[int, float]:
        """Send at args.rate for `seconds`; returns (sent, start time)."""
        sent = 0
        tick = 0.005
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            # what is due by now: a late tick (this process waited for a core) catches
            # up instead of quietly offering less than --rate
            batch = max(0, int(args.rate * elapsed) - sent)
            now = time.time()
            if batch and redis_backend is not None:
                from hub.realtime import wire

                items = [
                    (u, wire.message_tail({"type": "bench", "t": now, **tag}))
                    for u in random.choices(users, k=batch)
                ]
                await redis_backend.publish_users(channel, items)
                sent += batch
            else:
                for _ in range(batch):
                    user = random.choice(users)
                    sender = senders[sent % len(senders)]
                    if args.path == "api":
                        data = {"t": now, **tag}
                        body = {"user_id": user, "category": "bench", "title": "b", "data": data}
                    else:
                        message = {"type": "bench", "t": now, **tag}
                        body = {"channel": f"user:{user}", "message": message}
                    task = asyncio.create_task(sender.post(body))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
            target = start + (tick * (1 + int((time.perf_counter() - start) / tick)))
            await asyncio.sleep(max(0, target - time.perf_counter()))
        return sent, start

    # a freshly started hub's first requests are slower (connections, statements and
    # the API key cache are still cold): --warmup seconds at the same rate go first and
    # are reported apart ("warmup"); the measured run follows without a pause
    warmup_sent = (await at_rate(args.warmup, {"k": "warmup"}))[0] if args.warmup > 0 else 0
    shares = CpuShares({"hub": pids, "clients": client_pids, "sender": [os.getpid()]})
    load = [loadavg()]
    shares.start()
    cpu_start = sum(cpu_s(pid) for pid in pids)
    sent, start = await at_rate(args.seconds, {})
    if tasks:
        await asyncio.gather(*tasks)
    achieved = sent / (time.perf_counter() - start)
    cpu_shares = shares.stop()
    load.append(loadavg())
    await asyncio.sleep(1.0)
    cpu_mid = sum(cpu_s(pid) for pid in pids)
    for i in range(args.broadcasts):
        await bcast.post({"message": {"type": "bench_all", "k": f"b{i}", "t": time.time()}})
        await asyncio.sleep(1.5)
    await asyncio.sleep(1.0)
    cpu_end = sum(cpu_s(pid) for pid in pids)
    if redis_backend is not None:
        await redis_backend.client.aclose()
    return {
        "server_cpu_ms_per_msg": round(1000 * (cpu_mid - cpu_start) / max(1, sent), 3),
        "server_cpu_ms_per_broadcast": round(
            1000 * (cpu_end - cpu_mid) / max(1, args.broadcasts), 1
        ),
        "sent": sent,
        "warmup_sent": warmup_sent,
        "achieved_rate": round(achieved, 1),
        # while sending, in % of one core (the machine has os.cpu_count() cores)
        "cpu_pct_while_sending": cpu_shares,
        "loadavg_1m_start_end": load,
        "http_errors": sum(s.errors for s in senders) + bcast.errors,
    }


# ---------------------------------------------------------------- orchestration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_status(port: int, admin: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(
        f"http://127.0.0.1:{port}/api/websocket/status",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    return answer.json()["process"]  # type: ignore[no-any-return]


def slow_by_second(sent_at: list[tuple[float, float]]) -> dict[int, int]:
    """When the slowest 1 % were sent: {second of the run: how many}; a tail from one
    hiccup shows as one second, a tail from steady queueing as all of them."""
    if not sent_at:
        return {}
    first = min(t for t, _ in sent_at)
    limit = pct([d for _, d in sent_at], 99)
    out: dict[int, int] = {}
    for t, d in sent_at:
        if d >= limit:
            out[int(t - first)] = out.get(int(t - first), 0) + 1
    return dict(sorted(out.items()))


def start_hub(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--no-workers"],
        env=env,
        cwd=env["HUB_VAR_DIR"],
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("hub did not start")


async def make_keys(db_url: str) -> tuple[str, str]:
    from hub.auth import create_api_key
    from hub.db import Database

    db = Database(db_url)
    await db.connect()
    try:
        await db.migrate()
        _, admin = await create_api_key(db, "bench-admin", ["admin"])
        _, notify = await create_api_key(db, "bench", ["notify"])
    finally:
        await db.disconnect()
    return admin, notify


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--rate", type=int, default=500, help="targeted messages per second")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds at --rate before the measured run (reported apart; 0 = none)",
    )
    p.add_argument("--broadcasts", type=int, default=3, help="broadcasts to all after the run")
    p.add_argument("--backend", choices=["memory", "redis", "redis2"], default="memory")
    p.add_argument("--path", choices=["api", "broadcast", "fanout"], default="broadcast")
    p.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// URL")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--clients", type=int, default=2, help="client processes")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="HUB_X=V",
        help="a setting for the hub processes, e.g. --env HUB_EVENT_LOOP=asyncio (repeatable)",
    )
    args = p.parse_args()
    if args.path == "fanout" and args.backend == "memory":
        p.error("--path fanout publishes into Redis: use --backend redis or redis2")
    args.prefix = f"bench{secrets.token_hex(3)}"

    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    db_url = f"sqlite:///{tmp}/hub.db" if args.db == "sqlite" else args.db
    if db_url.startswith("postgres"):
        import asyncpg

        async def fresh() -> None:
            conn = await asyncpg.connect(db_url)
            try:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public'"
                    " AND tablename IN ('notifications','outbox','deliveries')"
                )
                for t in tables:
                    await conn.execute(f'TRUNCATE "{t["tablename"]}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(fresh())
    admin, notify = asyncio.run(make_keys(db_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_VAR_DIR=str(tmp),
        HUB_DATABASE_URL=db_url,
        HUB_BROADCAST_URL="memory://" if args.backend == "memory" else args.redis,
        HUB_BROADCAST_PREFIX=args.prefix,
        HUB_ANALYTICS_URL="",
        HUB_SECRET_KEY=SECRET,
        HUB_RUN_WORKERS="false",
        HUB_LOG_LEVEL="warning",
        HUB_EMAIL_URL=f"file://{tmp}/mail",
        PYTHONPATH=str(ROOT),
    )
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("HUB_"):
            p.error(f"--env takes HUB_NAME=value, not {item!r}")
        env[name] = value
    nproc = 2 if args.backend == "redis2" else 1
    ports = [free_port() for _ in range(nproc)]
    procs = [start_hub(env, port) for port in ports]
    result: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "redis"}}
    try:
        from hub.auth import make_user_token

        users = [f"u{i}" for i in range(args.conns)]
        tokens = [make_user_token(SECRET, u, ttl=3600) for u in users]
        rss0 = [rss_kb(pr.pid) for pr in procs]
        stop = mp.Event()
        pipes, workers = [], []
        for c in range(args.clients):
            parent, child = mp.Pipe()
            part = slice(c, None, args.clients)
            w = mp.Process(target=client_main, args=(ports, users[part], tokens[part], child, stop))
            w.start()
            pipes.append(parent)
            workers.append(w)
        t0 = time.perf_counter()
        connected = [pipe.recv() for pipe in pipes]
        connect_wall = time.perf_counter() - t0
        connect_times = [t for c in connected for t in c["times"]]
        time.sleep(2.0)  # let the server settle (gc.freeze after the burst)
        rss1 = [rss_kb(pr.pid) for pr in procs]
        cpu0 = [cpu_s(pr.pid) for pr in procs]
        t_run = time.perf_counter()
        before = [hub_status(port, admin) for port in ports]
        quiet_gc()  # the sender's pauses would delay requests after their timestamp
        sender = asyncio.run(
            send_loop(
                args,
                ports,
                users,
                admin,
                notify,
                [pr.pid for pr in procs],
                [w.pid for w in workers],
            )
        )
        run_wall = time.perf_counter() - t_run
        statuses = [hub_status(port, admin) for port in ports]
        cpu1 = [cpu_s(pr.pid) for pr in procs]
        stop.set()
        reports = [pipe.recv() for pipe in pipes]
        for w in workers:
            w.join(10)
        kind = "notification.created" if args.path == "api" else "bench"
        sent_at = [(t, d * 1000) for r in reports for d, k, t in r["received"] if k == kind]
        targeted = [d for _, d in sent_at]
        per_broadcast: dict[str, list[float]] = {}
        for r in reports:
            for d, k, _ in r["received"]:
                if k.startswith("b") and k[1:].isdigit():
                    per_broadcast.setdefault(k, []).append(d * 1000)
        bdelays = [d for v in per_broadcast.values() for d in v]
        warm = [d * 1000 for r in reports for d, k, _ in r["received"] if k == "warmup"]
        client_cpu = [r["cpu_s"] for r in reports]
        result.update(
            {
                "connect": {
                    "connections": sum(c["connected"] for c in connected),
                    "wall_s": round(connect_wall, 2),
                    "p50_ms": round(pct(connect_times, 50) * 1000, 1),
                    "p99_ms": round(pct(connect_times, 99) * 1000, 1),
                },
                "targeted": {
                    **sender,
                    "delivered": len(targeted),
                    "loss": round(1 - len(targeted) / max(1, sender["sent"]), 5),
                    "p50_ms": round(pct(targeted, 50), 2),
                    "p95_ms": round(pct(targeted, 95), 2),
                    "p99_ms": round(pct(targeted, 99), 2),
                    "max_ms": round(max(targeted, default=float("nan")), 2),
                    "slowest_1pct_by_second": slow_by_second(sent_at),
                },
                "warmup": {
                    "seconds": args.warmup,
                    "sent": sender["warmup_sent"],
                    "delivered": len(warm),
                    "p50_ms": round(pct(warm, 50), 2),
                    "p99_ms": round(pct(warm, 99), 2),
                    "max_ms": round(max(warm, default=float("nan")), 2),
                },
                "broadcast_all": {
                    "broadcasts": args.broadcasts,
                    "delivered": len(bdelays),
                    "expected": args.broadcasts * args.conns,
                    "p50_ms": round(pct(bdelays, 50), 1),
                    "p99_ms": round(pct(bdelays, 99), 1),
                    "max_ms": round(max(bdelays, default=float("nan")), 1),
                },
                "server": {
                    "processes": nproc,
                    "rss_per_conn_kb": round((sum(rss1) - sum(rss0)) / max(1, args.conns), 1),
                    "rss_mb": [round(r / 1024, 1) for r in rss1],
                    "gc_full": [st["gc_full"] for st in statuses],
                    "gc_full_during_run": [
                        st["gc_full"] - b["gc_full"] for st, b in zip(statuses, before, strict=True)
                    ],
                    "gc_max_pause_ms": [st["gc_max_pause_ms"] for st in statuses],
                    "dropped_slow": sum(st["dropped_slow"] for st in statuses),
                    "cpu_pct": [
                        round(100 * (b - a) / run_wall, 1) for a, b in zip(cpu0, cpu1, strict=True)
                    ],
                },
                "clients": {
                    "processes": args.clients,
                    "cpu_pct_each": [round(100 * c / run_wall, 1) for c in client_cpu],
                },
            }
        )
    finally:
        for pr in procs:
            pr.terminate()
        for pr in procs:
            try:
                pr.wait(15)
            except subprocess.TimeoutExpired:
                pr.kill()
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"fanout-{args.backend}-{args.path}-{args.conns}-{args.rate}.json"
    (out / name).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
