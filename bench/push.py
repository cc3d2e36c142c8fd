"""Push throughput through the delivery queue on Postgres, to the local APNs and FCM fakes.

Seeds --n pending push deliveries (one per user, one device per user) in a
fresh Postgres database, then lets a WorkerPool of 1 and 4 workers drain them
through the real PushSender (aioapns over HTTP/2+TLS for iOS, pyfcm + aiohttp for
Android) while the fakes run in a separate process and count what arrives.
Checks every row ended `sent` and that the fakes saw each (token,
notification) exactly once. Prints a table and writes bench/results/push.json.

    .venv/bin/python bench/push.py --n 5000 --workers 1,4 --platforms ios,android
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.db import Database, now_ms  # noqa: E402
from hub.delivery.push import PushSender  # noqa: E402
from hub.delivery.worker import WorkerPool  # noqa: E402
from hub.settings import Settings  # noqa: E402

PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------- the fakes' process


async def _serve_fakes(conn: Connection, workdir: str) -> None:
    from tests.fakes.apns_server import FakeAPNs, make_p8_key, make_tls_cert
    from tests.fakes.fcm_server import FakeFCM, make_service_account

    directory = Path(workdir)
    pem, public = make_p8_key()
    (directory / "AuthKey.p8").write_text(pem)
    cert, key = make_tls_cert(directory)
    apns = FakeAPNs(public, "TEAMBENCH1", "KEYBENCH01", "com.example.bench", record=False)
    apns_url = await apns.start(cert, key)
    fcm = FakeFCM("bench-project", record=False)
    fcm_url = await fcm.start()
    fcm.public_key = make_service_account(
        directory / "sa.json", "bench-project", token_uri=f"{fcm_url}/token"
    )
    conn.send(
        {
            "apns_key_path": str(directory / "AuthKey.p8"),
            "apns_key_id": "KEYBENCH01",
            "apns_team_id": "TEAMBENCH1",
            "apns_topic": "com.example.bench",
            "apns_url": apns_url,
            "apns_ca_file": str(cert),
            "fcm_credentials_path": str(directory / "sa.json"),
            "fcm_project_id": "bench-project",
            "fcm_url": fcm_url,
        }
    )
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        conn.send(
            {
                "apns": apns.count,
                "apns_duplicates": apns.duplicates,
                "fcm": fcm.count,
                "fcm_duplicates": fcm.duplicates,
                "rejected": len(apns.rejected) + len(fcm.rejected),
                "cpu": time.process_time(),
            }
        )
    await apns.stop()
    await fcm.stop()


def _fakes_main(conn: Connection, workdir: str) -> None:
    asyncio.run(_serve_fakes(conn, workdir))


# ---------------------------------------------------------------- the run


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(db: Database, n: int, platform: str, run: str, first_id: int) -> None:
    """n users, each with one device and one pending push delivery.

    Notification ids start at `first_id` so the fakes' duplicate check spans runs.
    """
    now = now_ms()
    for table in ("deliveries", "notifications", "devices", "outbox"):
        await db.execute(f"TRUNCATE {table}")  # noqa: S608 - fixed names
    token = "lpad(to_hex(g), 64, '0')" if platform == "ios" else f"'{run}:android-' || g::text"
    await db.execute(
        f"INSERT INTO devices (token, user_id, platform, created_at, updated_at)"
        f" SELECT {token}, 'u' || g::text, '{platform}', :now, :now"
        f" FROM generate_series(1, :n) g",
        {"n": n, "now": now},
    )
    await db.execute(
        "INSERT INTO notifications (id, user_id, category, title, body, created_at)"
        " SELECT :first + g, 'u' || g::text, 'billing', 'Payment received', 'Thanks', :now"
        " FROM generate_series(1, :n) g",
        {"n": n, "now": now, "first": first_id},
    )
    await db.execute(
        "INSERT INTO deliveries (notification_id, user_id, channel, status, category,"
        " priority, attempts, next_attempt_at, created_at, updated_at)"
        " SELECT :first + g, 'u' || g::text, 'push', 'pending', 'billing', 'normal', 0, 0,"
        " :now, :now FROM generate_series(1, :n) g",
        {"n": n, "now": now, "first": first_id},
    )


async def one_run(
    settings: Settings,
    db: Database,
    conn: Connection,
    n: int,
    workers: int,
    platform: str,
    first_id: int,
) -> dict[str, Any]:
    await seed(db, n, platform, secrets.token_hex(3), first_id)
    conn.send("stats")
    before = conn.recv()
    state = SimpleNamespace(db=db, settings=settings)
    sender = PushSender(db, settings)
    pool = WorkerPool(state, workers)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await pool.start({"push": sender})
    while True:
        left = await db.fetch_val(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')"
        )
        if left == 0:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    await pool.stop()
    await sender.close()
    conn.send("stats")
    after = conn.recv()
    statuses = {
        r["status"]: r["n"]
        for r in await db.fetch_all("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
    }
    service = "apns" if platform == "ios" else "fcm"
    received = after[service] - before[service]
    duplicates = after[f"{service}_duplicates"] - before[f"{service}_duplicates"]
    return {
        "platform": platform,
        "service": service,
        "workers": workers,
        "n": n,
        "seconds": round(elapsed, 3),
        "push_per_s": round(n / elapsed),
        # CPU per push: the hub process (workers, senders, clients) and the fakes' process;
        # on a busy machine these say more than the wall-clock rate
        "hub_cpu_ms_per_push": round(cpu * 1000 / n, 3),
        "fake_cpu_ms_per_push": round((after["cpu"] - before["cpu"]) * 1000 / n, 3),
        "received": received,
        "duplicates": duplicates,
        "statuses": statuses,
        "ok": statuses == {"sent": n} and received == n and duplicates == 0,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    name = f"hub_bench_push_{os.getpid()}"
    await admin(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    workdir = tempfile.mkdtemp(prefix="hub-push-bench-")
    parent, child = mp.Pipe()
    fakes = mp.get_context("spawn").Process(target=_fakes_main, args=(child, workdir))
    fakes.start()
    results: list[dict[str, Any]] = []
    db = Database(url)
    try:
        fake_settings = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        settings = Settings(
            secret_key="bench",
            database_url=url,
            delivery_batch_size=args.batch,
            delivery_poll_interval=0.01,
            **fake_settings,
        )
        await db.connect()
        await db.migrate()
        for platform in args.platforms.split(","):
            for workers in [int(w) for w in args.workers.split(",")]:
                r = await one_run(
                    settings, db, parent, args.n, workers, platform, len(results) * args.n
                )
                results.append(r)
                print(
                    f"{r['service']:5} {platform:8} workers={workers}  n={r['n']:>6}"
                    f"  {r['seconds']:7.2f}s  {r['push_per_s']:>6} push/s"
                    f"  cpu/push hub={r['hub_cpu_ms_per_push']}ms"
                    f" fakes={r['fake_cpu_ms_per_push']}ms"
                    f"  received={r['received']} duplicates={r['duplicates']}"
                    f"  {'OK' if r['ok'] else 'MISMATCH ' + json.dumps(r['statuses'])}",
                    flush=True,
                )
    finally:
        parent.send("stop")
        fakes.join(10)
        await db.disconnect()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="deliveries per run")
    parser.add_argument("--workers", default="1,4", help="worker counts to try")
    parser.add_argument("--platforms", default="ios,android", help="ios (APNs), android (FCM)")
    parser.add_argument("--batch", type=int, default=100, help="rows a worker claims at once")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "push.json"
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
