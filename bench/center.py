"""Notification center benchmark: the center API over HTTP at size, on Postgres.

Fills a database of its own (default hub_bench) with --notifications rows over
--users users (one INSERT ... SELECT over generate_series, indexes built after
the load), starts `hub serve` in a subprocess with uvicorn, and measures
p50/p95/p99 through HTTP with --concurrency concurrent httpx clients for the
center's first page, a deep cursor page, the unread count, the categories and
search; then the time of a bulk send to 10,000 users. Prints a table and
writes bench/results/center.json.

    .venv/bin/python bench/center.py                      # 1M rows, 10k users
    .venv/bin/python bench/center.py --notifications 50000 --users 500 --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.auth import create_api_key, make_user_token  # noqa: E402
from hub.db import Database, now_ms  # noqa: E402

PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
RESULTS = ROOT / "bench" / "results"
DAY = 24 * 3600 * 1000

# Titles and bodies from a small vocabulary so searches hit a realistic share.
FILL_SQL = """
INSERT INTO notifications (user_id, category, title, body, link, priority, is_read, read_at,
                           archived, archived_at, created_at)
SELECT 'user' || (g % {users}),
       (ARRAY['billing','security','social','system','verification','orders'])[1 + (h % 6)],
       (ARRAY['Payment received','Invoice ready','New sign-in','Password changed',
              'New follower','Comment on your post','Scheduled maintenance','New feature',
              'Document verified','Order shipped','Order delivered','Refund issued'])
           [1 + (h / 7) % 12] || ' #' || g,
       (ARRAY['Thanks for your payment of the monthly plan.',
              'Your parcel is on its way and arrives tomorrow.',
              'Someone signed in from a new device in Berlin.',
              'Maintenance window tonight between two and three.',
              'A reviewer approved your verification documents.',
              'Your invoice for this month is attached as PDF.'])[1 + (h / 11) % 6],
       '/n/' || g,
       CASE WHEN h % 17 = 0 THEN 'high' ELSE 'normal' END,
       (h % 10) < 6,
       CASE WHEN (h % 10) < 6 THEN {start} + g * {step} + 60000 END,
       h % 20 = 0,
       CASE WHEN h % 20 = 0 THEN {start} + g * {step} + 120000 END,
       {start} + g * {step}
FROM (SELECT g, (g * 48271) % 2147483647 AS h FROM generate_series({lo}::bigint, {hi}::bigint) g) s
"""
SEARCHES = ["inv", "order shi", "payment", "passw", "new fol", "maint", "parcel tomorrow", "ref"]


def _db_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fill(name: str, notifications: int, users: int) -> dict[str, float]:
    """A fresh database with the schema and `notifications` rows; returns timings."""
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    db = Database(_db_url(name))
    await db.connect()
    await db.migrate()
    await db.disconnect()
    conn = await asyncpg.connect(_db_url(name))
    timings: dict[str, float] = {}
    try:
        # load first, index after: building an index once is far cheaper than
        # maintaining it row by row
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notifications'"
            " AND indexname <> 'notifications_pkey'"
        )
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        t0 = time.perf_counter()
        start = now_ms() - 30 * DAY
        step = max(1, 30 * DAY // notifications)
        chunk = 200_000
        for lo in range(1, notifications + 1, chunk):
            hi = min(notifications, lo + chunk - 1)
            await conn.execute(FILL_SQL.format(users=users, start=start, step=step, lo=lo, hi=hi))
        timings["load_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for ix in indexes:
            await conn.execute(ix["indexdef"])
        timings["index_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # sets the visibility map the index-only counts rely on, as autovacuum would
        await conn.execute("VACUUM ANALYZE notifications")
        timings["vacuum_s"] = time.perf_counter() - t0
    finally:
        await conn.close()
    return timings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": db_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_ANALYTICS_URL": "",
        "HUB_BROADCAST_URL": "memory://",
        "HUB_RUN_WORKERS": "false",
        "HUB_LOG_LEVEL": "warning",
        "HUB_BASE_URL": f"http://127.0.0.1:{port}",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--no-workers", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )


async def wait_ready(base: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not come up")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p95_ms": round(pick(0.95) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


class RawResponse:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.text = body.decode("utf-8", "replace")


class RawClient:
    """A minimal keep-alive HTTP/1.1 GET client (one connection per concurrent
    caller): with httpx the load generator, not the hub, used up its core first."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()

    async def get(
        self, path: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        if params:
            path += "?" + urlencode(params)
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        reader, writer = await self.pool.get()
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
        finally:
            self.pool.put_nowait((reader, writer))
        return RawResponse(status, body)


Request = Callable[[Any, int], Awaitable[Any]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(client: Any, make: Request, n: int, concurrency: int, server_pid: int) -> dict:
    samples: list[float] = []
    counter = iter(range(n))
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            r = await make(client, i)
            samples.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1
                if errors < 3:
                    print(f"  unexpected {r.status_code}: {r.text[:200]}", file=sys.stderr)

    t0 = time.perf_counter()
    cpu0, own0 = cpu_seconds(server_pid), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    # what the hub process spent per request: unlike latency, independent of
    # what else runs on the machine
    cpu = (cpu_seconds(server_pid) - cpu0) / n * 1000
    own = (time.process_time() - own0) / n * 1000
    return {
        **percentiles(samples),
        "rps": round(n / wall, 1),
        "server_cpu_ms": round(cpu, 2),
        "client_cpu_ms": round(own, 2),
        "errors": errors,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "notifications": args.notifications,
        "users": args.users,
        "requests": args.requests,
        "concurrency": args.concurrency,
    }
    url = _db_url(args.db)
    if not args.reuse:
        print(f"filling {args.db}: {args.notifications:,} notifications, {args.users:,} users")
        result["fill"] = await fill(args.db, args.notifications, args.users)
        print("  " + ", ".join(f"{k} {v:.1f}" for k, v in result["fill"].items()))
    db = Database(url)
    await db.connect()
    _, key = await create_api_key(db, "bench", ["notify"])
    await db.disconnect()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    rng = random.Random(7)
    try:
        await wait_ready(base)
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            tokens = [
                {
                    "Authorization": "Bearer "
                    + make_user_token(SECRET, f"user{rng.randrange(args.users)}", ttl=7200)
                }
                for _ in range(500)
            ]

            def user(i: int) -> dict[str, str]:
                return tokens[(i * 7919) % len(tokens)]

            # deep pages: walk each sampled user's center to its last full page
            deep: list[tuple[dict[str, str], str]] = []
            for headers in tokens[:100]:
                cursor, last = None, None
                for _ in range(50):
                    params = {"limit": "20", **({"cursor": cursor} if cursor else {})}
                    body = (
                        await client.get(
                            "/api/notifications/center", params=params, headers=headers
                        )
                    ).json()
                    if not body["next_cursor"]:
                        break
                    last, cursor = cursor, body["next_cursor"]
                if last or cursor:
                    deep.append((headers, last or cursor))  # type: ignore[arg-type]

            scenarios: dict[str, Request] = {
                "center first page": lambda c, i: c.get(
                    "/api/notifications/center", params={"limit": "20"}, headers=user(i)
                ),
                "center deep cursor page": lambda c, i: c.get(
                    "/api/notifications/center",
                    params={"limit": "20", "cursor": deep[i % len(deep)][1]},
                    headers=deep[i % len(deep)][0],
                ),
                "center unread first": lambda c, i: c.get(
                    "/api/notifications/center",
                    params={"limit": "20", "sort": "unread_first"},
                    headers=user(i),
                ),
                "unread count": lambda c, i: c.get(
                    "/api/notifications/unread-count", headers=user(i)
                ),
                "categories": lambda c, i: c.get("/api/notifications/categories", headers=user(i)),
                "search": lambda c, i: c.get(
                    "/api/notifications/search",
                    params={"query": SEARCHES[i % len(SEARCHES)]},
                    headers=user(i),
                ),
            }
            if not deep:
                del scenarios["center deep cursor page"]
            load: Any = client
            if args.client == "raw":
                load = RawClient("127.0.0.1", port, args.concurrency)
                await load.open()
            result["client"] = args.client
            # warm up connections, caches and the server's prepared statements
            for make in scenarios.values():
                await measure(load, make, min(200, args.requests), args.concurrency, server.pid)
            result["latency"] = {}
            for name, make in scenarios.items():
                stats = await measure(load, make, args.requests, args.concurrency, server.pid)
                result["latency"][name] = stats
                print(
                    f"  {name:<26} p50 {stats['p50_ms']:>7.2f}  p95 {stats['p95_ms']:>7.2f}"
                    f"  p99 {stats['p99_ms']:>7.2f} ms  {stats['rps']:>7.1f} req/s"
                    f"  server {stats['server_cpu_ms']:.2f} ms CPU/req"
                    f"  client {stats['client_cpu_ms']:.2f}"
                )
            if isinstance(load, RawClient):
                await load.close()

            bulk: list[float] = []
            recipients = [f"bulk{i}" for i in range(args.bulk_users)]
            for n in range(args.bulk_rounds):
                t0 = time.perf_counter()
                r = await client.post(
                    "/api/notifications",
                    json={
                        "user_ids": recipients,
                        "category": "system",
                        "title": f"Maintenance tonight ({n})",
                        "body": "Short maintenance window tonight.",
                    },
                    headers={"Authorization": f"Bearer {key}"},
                )
                bulk.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
            result["bulk_send"] = {
                "users": args.bulk_users,
                "seconds": [round(b, 3) for b in bulk],
                "median_s": round(statistics.median(bulk), 3),
            }
            b = result["bulk_send"]
            print(
                f"  bulk send to {args.bulk_users:,} users:"
                f" median {b['median_s'] * 1000:.0f} ms ({b['seconds']})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result


def print_table(result: dict[str, Any]) -> None:
    print()
    print(
        f"center API over HTTP, {result['notifications']:,} notifications / {result['users']:,}"
        f" users, {result['concurrency']} concurrent {result['client']} clients,"
        f" {result['requests']} requests each"
    )
    print(f"| {'query':<26} | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/req |")
    print(f"| {'-' * 26} | -----: | -----: | -----: | ----: | ----------------: |")
    for name, s in result["latency"].items():
        print(
            f"| {name:<26} | {s['p50_ms']:>6.2f} | {s['p95_ms']:>6.2f} | {s['p99_ms']:>6.2f}"
            f" | {s['rps']:>5.0f} | {s['server_cpu_ms']:>17.2f} |"
        )
    print(f"load average before/after: {result['load_before']} / {result['load_after']}")
    b = result["bulk_send"]
    print(f"bulk send to {b['users']:,} users: median {b['median_s'] * 1000:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--notifications", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=2000, help="timed requests per query")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="load generator: httpx.AsyncClient, or a minimal HTTP/1.1 client that costs"
        " the machine far less CPU per request",
    )
    p.add_argument("--bulk-users", type=int, default=10_000)
    p.add_argument("--bulk-rounds", type=int, default=5)
    p.add_argument("--db", default="hub_bench", help="database to create (dropped and refilled)")
    p.add_argument("--reuse", action="store_true", help="reuse the filled database as it is")
    p.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = p.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    result = asyncio.run(run(args))
    result["load_before"] = load_before
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print_table(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "center.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    if args.drop:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
