"""Several `hub worker` processes on one Postgres queue: every row sent exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from hub.db import Database
from tests.conftest import SECRET, truncate_all

ROOT = Path(__file__).resolve().parents[3]


async def test_two_worker_processes_share_the_queue(pg_database: str, tmp_path: Path) -> None:
    await truncate_all(pg_database)
    db = Database(pg_database)
    await db.connect()
    n = 300
    try:
        await db.execute(
            "INSERT INTO notifications (user_id, category, title, created_at)"
            " SELECT 'u' || i, 'general', 'hello ' || i, 1 FROM generate_series(1, :n) AS i",
            {"n": n},
        )
        await db.execute(
            "INSERT INTO deliveries (notification_id, user_id, channel, status, category,"
            " priority, address, attempts, next_attempt_at, created_at, updated_at)"
            " SELECT id, user_id, 'email', 'pending', category, priority,"
            " user_id || '@example.com', 0, 0, 1, 1 FROM notifications"
        )
        mail = tmp_path / "mail"
        env = {
            **os.environ,
            "HUB_DATABASE_URL": pg_database,
            "HUB_EMAIL_URL": f"file://{mail}",
            "HUB_SECRET_KEY": SECRET,
            "HUB_ANALYTICS_URL": "",
            "HUB_DELIVERY_WORKERS": "2",
            "HUB_DELIVERY_BATCH_SIZE": "10",
            "HUB_DELIVERY_POLL_INTERVAL": "0.05",
            "HUB_VAR_DIR": str(tmp_path / "var"),
        }
        # the children inherit the descriptor; ours closes once they are started
        log = (tmp_path / "worker.log").open("ab")
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub",
                "worker",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
            for _ in range(2)
        ]
        log.close()
        try:
            for _ in range(300):
                left = await db.fetch_val("SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'")
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(p.wait(), 20) for p in procs]
        assert codes == [0, 0]
        assert left == 0
        ids: Counter[str] = Counter()
        for eml in mail.glob("*.eml"):
            for line in eml.read_text().splitlines():
                if line.startswith("X-Hub-Delivery-Id: "):
                    ids[line.split(": ", 1)[1]] += 1
                    break
        assert len(ids) == n and set(ids.values()) == {1}
        assert await db.fetch_val("SELECT COUNT(*) FROM outbox WHERE event = 'sent'") == n
        # created at epoch + 1 ms: the latency is clamped to the column's range, not an error
        assert await db.fetch_val("SELECT MAX(latency_ms) FROM outbox") == 2**31 - 1
    finally:
        await db.disconnect()
