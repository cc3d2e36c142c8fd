"""Email throughput through the delivery queue on Postgres, to a local SMTP server.

Seeds --n pending email deliveries (one notification each) in a fresh Postgres
database, then lets a WorkerPool of 1 and 4 workers drain them through the
real EmailSender (Jinja2 templates, multipart messages, aiosmtplib with kept-open
connections) while an aiosmtpd server runs in a separate process and counts
what arrives by X-Hub-Delivery-Id. Checks every row ended `sent` and that the
server received each delivery exactly once. Prints a table and writes
bench/results/delivery.json.

    .venv/bin/python bench/delivery.py --n 5000 --workers 1,4

Push throughput has its own script (bench/push.py, same shape); `run_push()`
below is where it plugs in when both are wanted in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import resource
import secrets
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.db import Database, now_ms  # noqa: E402
from hub.delivery.email import build_sender  # noqa: E402
from hub.delivery.worker import WorkerPool  # noqa: E402
from hub.settings import Settings  # noqa: E402

PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
RESULTS = Path(__file__).resolve().parent / "results"
DELIVERY_ID = re.compile(rb"^X-Hub-Delivery-Id: (\d+)\r?$", re.M)


# ---------------------------------------------------------------- the SMTP server's process


class Counting:
    def __init__(self) -> None:
        self.seen: Counter[int] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        match = DELIVERY_ID.search(envelope.content)
        if match:
            self.seen[int(match.group(1))] += 1
        return "250 OK"


async def _serve_smtp(conn: Connection) -> None:
    from aiosmtpd.smtp import SMTP

    handler = Counting()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="bench.smtp"), "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        if command == "reset":
            handler.seen.clear()
            conn.send(True)
            continue
        conn.send(
            {
                "server_cpu_s": round(time.process_time(), 3),
                "messages": sum(handler.seen.values()),
                "distinct": len(handler.seen),
                "duplicates": sum(n - 1 for n in handler.seen.values() if n > 1),
            }
        )
    server.close()


def smtp_process(conn: Connection) -> None:
    asyncio.run(_serve_smtp(conn))


# ---------------------------------------------------------------- the queue side


async def seed(db: Database, n: int) -> None:
    """n notifications and one pending email delivery each (bulk, like a big send)."""
    now = now_ms()
    async with db.transaction():
        raw = db.raw_connection()
        await raw.execute("TRUNCATE deliveries, notifications, outbox RESTART IDENTITY")
        await raw.execute(
            "INSERT INTO notifications (user_id, category, title, body, link, priority,"
            " created_at) SELECT 'u' || i, 'billing', 'Payment received', 'Thanks for paying'"
            " || i, '/billing/' || i, 'normal', $1 FROM generate_series(1, $2) AS i",
            now,
            n,
        )
        await raw.execute(
            "INSERT INTO deliveries (notification_id, user_id, channel, status, category,"
            " priority, address, attempts, next_attempt_at, created_at, updated_at)"
            " SELECT id, user_id, 'email', 'pending', category, priority,"
            " user_id || '@bench.test', 0, $1, $1, $1 FROM notifications",
            now,
        )


class NullSender:
    """Accepts everything at once: what the queue alone (claim, finish, events) sustains."""

    channel = "email"

    async def send(self, delivery: Any) -> Any:
        from hub.delivery.base import SendResult

        return SendResult.ok()

    async def close(self) -> None:
        return None


async def drain(
    db: Database, settings: Settings, workers: int, n: int, null: bool = False
) -> float:
    state = SimpleNamespace(db=db, settings=settings)
    sender: Any = NullSender() if null else build_sender(state)
    assert sender is not None
    pool = WorkerPool(state, workers)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = time.process_time()
    started = time.perf_counter()
    await pool.start({"email": sender})
    while True:
        left = await db.fetch_val(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')"
        )
        if left == 0:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    drain.cpu = time.process_time() - cpu  # type: ignore[attr-defined]
    after = resource.getrusage(resource.RUSAGE_SELF)
    drain.sys = after.ru_stime - usage.ru_stime  # type: ignore[attr-defined]
    await pool.stop()
    await sender.close()
    return elapsed


def bench_settings(args: argparse.Namespace, db_url: str, workers: int, email_url: str) -> Settings:
    """The settings of one run: `workers` workers draining `email_url` ("" = none)."""
    return Settings(
        database_url=db_url,
        secret_key="bench-secret-key-0123456789abcdef",
        email_url=email_url,
        delivery_workers=workers,
        delivery_batch_size=args.batch,
        delivery_poll_interval=0.01,
        digest_interval=3600,
        analytics_url="",
    )


async def run_email(args: argparse.Namespace, db_url: str, conn: Connection, port: int) -> list:
    db = Database(db_url)
    await db.connect()
    await db.migrate()
    results = []
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            await seed(db, args.n)
            conn.send("count")
            before = conn.recv()["server_cpu_s"]
            conn.send("reset")
            conn.recv()
            settings = bench_settings(
                args, db_url, workers, f"smtp://127.0.0.1:{port}?pool={args.pool}"
            )
            elapsed = await drain(db, settings, workers, args.n)
            conn.send("count")
            seen = conn.recv()
            seen["server_cpu_s"] = round(seen["server_cpu_s"] - before, 3)
            sent = await db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
            events = await db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'sent'")
            row = {
                "channel": "email",
                "workers": workers,
                "n": args.n,
                "seconds": round(elapsed, 3),
                "per_second": round(args.n / elapsed, 1),
                "worker_cpu_ms_per_email": round(drain.cpu * 1000 / args.n, 3),  # type: ignore[attr-defined]
                "worker_sys_ms_per_email": round(drain.sys * 1000 / args.n, 3),  # type: ignore[attr-defined]
                "server_cpu_ms_per_email": round(seen["server_cpu_s"] * 1000 / args.n, 3),
                "rows_sent": sent,
                "sent_events": events,
                **seen,
                "ok": sent == args.n and seen["distinct"] == args.n and seen["duplicates"] == 0,
            }
            results.append(row)
            print(
                f"email  workers={workers}  {args.n} in {elapsed:.2f} s"
                f" = {row['per_second']:.0f}/s  received={seen['messages']}"
                f" duplicates={seen['duplicates']}  rows sent={sent}  ok={row['ok']}"
                f"  cpu/email: workers {row['worker_cpu_ms_per_email']} ms"
                f" (kernel {row['worker_sys_ms_per_email']}),"
                f" smtp server {row['server_cpu_ms_per_email']} ms",
                flush=True,
            )
    finally:
        await db.disconnect()
    return results


async def run_queue_only(args: argparse.Namespace, db_url: str) -> list:
    """The same runs with a sender that does nothing: the queue's own ceiling."""
    db = Database(db_url)
    await db.connect()
    results = []
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            await seed(db, args.n)
            settings = bench_settings(args, db_url, workers, email_url="")
            elapsed = await drain(db, settings, workers, args.n, null=True)
            sent = await db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
            row = {
                "channel": "queue only (null sender)",
                "workers": workers,
                "n": args.n,
                "seconds": round(elapsed, 3),
                "per_second": round(args.n / elapsed, 1),
                "worker_cpu_ms_per_email": round(drain.cpu * 1000 / args.n, 3),  # type: ignore[attr-defined]
                "rows_sent": sent,
                "ok": sent == args.n,
            }
            results.append(row)
            print(
                f"queue  workers={workers}  {args.n} in {elapsed:.2f} s"
                f" = {row['per_second']:.0f}/s (null sender)  rows sent={sent}"
                f"  cpu/row {row['worker_cpu_ms_per_email']} ms",
                flush=True,
            )
    finally:
        await db.disconnect()
    return results


def run_push(args: argparse.Namespace) -> list:
    """With --push: bench/push.py (its own fakes and database) in a child process."""
    if not args.push:
        return []
    import subprocess

    script = Path(__file__).resolve().with_name("push.py")
    command = [sys.executable, str(script), "--n", str(args.n), "--workers", args.workers]
    subprocess.run(command, check=True)  # noqa: S603 - our own script
    return json.loads((RESULTS / "push.json").read_text())["results"]


async def main_async(args: argparse.Namespace) -> int:
    import asyncpg

    name = f"hub_bench_delivery_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=smtp_process, args=(child,), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        results = await run_email(args, db_url, parent, port)
        results += await run_queue_only(args, db_url)
        results += run_push(args)
    finally:
        parent.send("stop")
        proc.join(5)
        admin = await asyncpg.connect(PG_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "delivery.json"
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"wrote {out}")
    return 0 if all(r["ok"] for r in results) else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--n", type=int, default=5000, help="emails per run")
    p.add_argument("--workers", default="1,4", help="comma-separated worker counts")
    p.add_argument("--batch", type=int, default=200, help="rows claimed per batch")
    p.add_argument("--pool", type=int, default=32, help="SMTP connections per process")
    p.add_argument("--push", action="store_true", help="also run bench/push.py (APNs, FCM)")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
