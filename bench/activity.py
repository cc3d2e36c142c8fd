"""Activity feed benchmark: ingest through POST /api/activities and feed queries at size.

Loads --rows activities spread over 90 days across --users users, of which
--heavy belong to one user (the worst case for a feed), then times every
read endpoint for that user through the real app (ASGI, JSON rendering
included) on SQLite and/or Postgres. Prints a table and writes
bench/results/activity.json.

    .venv/bin/python bench/activity.py --rows 1000000 --heavy 100000 --db both
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.app import create_app  # noqa: E402
from hub.auth import create_api_key, make_user_token  # noqa: E402
from hub.db import now_ms  # noqa: E402
from hub.settings import Settings  # noqa: E402

PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
DAY = 24 * 3600 * 1000
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
RESULTS = Path(__file__).resolve().parent / "results"

# one INSERT … SELECT over a counter, identical on both backends
LOAD_SQL = """
WITH RECURSIVE seq(g) AS (SELECT :lo UNION ALL SELECT g + 1 FROM seq WHERE g < :hi),
mixed(g, h) AS (SELECT g, (CAST(g AS BIGINT) * 48271) % 2147483647 FROM seq)
INSERT INTO activities (user_id, activity_type, resource_type, resource_id, action, status,
                        title, description, metadata, created_at)
SELECT
  CASE WHEN g % :every = 0 THEN 'heavy' ELSE 'u' || CAST(g % :users AS TEXT) END,
  CASE h % 5 WHEN 0 THEN 'verification' WHEN 1 THEN 'payment' WHEN 2 THEN 'login'
             WHEN 3 THEN 'settings' ELSE 'api_key' END,
  CASE (h / 5) % 3 WHEN 0 THEN 'invoice' WHEN 1 THEN 'session' ELSE 'profile' END,
  CAST((h / 15) % 500 AS TEXT),
  CASE (h / 7) % 5 WHEN 0 THEN 'created' WHEN 1 THEN 'completed' WHEN 2 THEN 'failed'
                   WHEN 3 THEN 'updated' ELSE 'deleted' END,
  CASE (h / 35) % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'pending' ELSE 'failed' END,
  'Activity ' || CAST(g AS TEXT) || ' ' ||
    CASE WHEN h % 997 = 0 THEN 'chargeback'
         ELSE CASE (h / 105) % 4 WHEN 0 THEN 'paid' WHEN 1 THEN 'declined'
                                 WHEN 2 THEN 'signed in' ELSE 'changed' END END,
  'Card ending ' || CAST(h % 10000 AS TEXT) || ' from the web app',
  '{"n": ' || CAST(g AS TEXT) || '}',
  :start + (g * :span) / :rows
FROM mixed
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def create_pg_db() -> tuple[str, str]:
    import asyncpg

    name = f"hub_bench_activity_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(PG_URL)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


async def drop_pg_db(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def load(db: Any, rows: int, users: int, heavy: int) -> float:
    start = now_ms() - 90 * DAY
    every = max(1, rows // max(1, heavy))
    t0 = time.perf_counter()
    chunk = 200_000
    for lo in range(1, rows + 1, chunk):
        hi = min(rows, lo + chunk - 1)
        params = {
            "lo": lo,
            "hi": hi,
            "every": every,
            "users": users,
            "start": start,
            "span": 90 * DAY,
            "rows": rows,
        }
        sql = LOAD_SQL
        # integers only, inlined: the SQL uses % (modulo), which the drivers' paramstyles mangle
        for name in sorted(params, key=len, reverse=True):
            sql = sql.replace(f":{name}", str(int(params[name])))
        async with db.transaction():
            await db.raw_connection().execute(sql)
    # what autovacuum would have done by then (visibility map for index-only scans)
    await db.execute("VACUUM ANALYZE activities" if db.is_postgres else "ANALYZE")
    return time.perf_counter() - t0


async def timed(client: httpx.AsyncClient, method: str, url: str, n: int, **kw: Any) -> dict:
    times: list[float] = []
    body: Any = None
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.request(method, url, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text[:300]
        body = r
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(pct(times, 95), 2),
        "response": body,
    }


async def run_backend(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    pg_name = None
    if kind == "postgres":
        url, pg_name = await create_pg_db()
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='hub-bench-')}/hub.db"
    settings = Settings(
        database_url=url,
        broadcast_url="memory://",
        analytics_url="",
        secret_key=SECRET,
        run_workers=False,
        email_url=f"file://{tempfile.mkdtemp()}",
    )
    app = create_app(settings)
    out: dict[str, Any] = {"backend": kind, "rows": args.rows, "heavy_user_rows": args.heavy}
    try:
        async with app.router.lifespan_context(app):
            db = app.state.db
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=600
            ) as client:
                _, key = await create_api_key(db, "bench", ["activity"])
                producer = {"Authorization": f"Bearer {key}"}
                # ingest through the API: batches of 1,000 with per-item idempotency keys
                t0 = time.perf_counter()
                for b in range(args.batches):
                    items = [
                        {
                            "user_id": f"p{(b * 1000 + i) % 1000}",
                            "activity_type": "payment",
                            "action": "completed",
                            "title": f"Paid {b}-{i}",
                            "metadata": {"amount": i},
                            "idempotency_key": f"k{b}-{i}",
                        }
                        for i in range(1000)
                    ]
                    r = await client.post(
                        "/api/activities", json={"activities": items}, headers=producer
                    )
                    assert r.status_code == 201, r.text[:300]
                api_s = time.perf_counter() - t0
                out["api_ingest_rows_per_s"] = round(args.batches * 1000 / api_s)
                out["bulk_load_s"] = round(await load(db, args.rows, args.users, args.heavy), 1)
                user = {"Authorization": f"Bearer {make_user_token(SECRET, 'heavy', 36000)}"}
                n = args.repeat
                first = await timed(client, "GET", "/api/activities", n, headers=user)
                cursor = first["response"].json()["next_cursor"]
                # a cursor deep in the feed: walk 50 pages first
                for _ in range(50):
                    page = await client.get(
                        "/api/activities", params={"cursor": cursor, "limit": 100}, headers=user
                    )
                    cursor = page.json()["next_cursor"]
                cases: dict[str, tuple[str, str, dict[str, Any]]] = {
                    "feed first page": ("GET", "/api/activities", {}),
                    "feed after 5,000 rows (cursor)": (
                        "GET",
                        "/api/activities",
                        {"params": {"cursor": cursor}},
                    ),
                    "feed skip=5000": ("GET", "/api/activities", {"params": {"skip": 5000}}),
                    "filter activity_type": (
                        "GET",
                        "/api/activities",
                        {"params": {"activity_type": "payment"}},
                    ),
                    "filter status": ("GET", "/api/activities", {"params": {"status": "failed"}}),
                    "filter last 7 days": (
                        "GET",
                        "/api/activities",
                        {"params": {"date_from": _days_ago(7)}},
                    ),
                    "search rare word": (
                        "GET",
                        "/api/activities",
                        {"params": {"q": "chargeback"}},
                    ),
                    "search common word": ("GET", "/api/activities", {"params": {"q": "declined"}}),
                    "search, no match": ("GET", "/api/activities", {"params": {"q": "qwxz"}}),
                    "resource view": ("GET", "/api/activities/resource/invoice/42", {}),
                    "summary overview": ("GET", "/api/activities/summary/overview", {}),
                }
                timings: dict[str, dict[str, float]] = {}
                for name, (method, path, kw) in cases.items():
                    res = await timed(client, method, path, n, headers=user, **kw)
                    res.pop("response")
                    timings[name] = res
                out["queries"] = timings
                t0 = time.perf_counter()
                r = await client.post(
                    "/api/activities/export", json={"format": "csv"}, headers=user
                )
                export_s = time.perf_counter() - t0
                exported = r.text.count("\n") - 1
                out["export_csv_rows"] = exported
                out["export_csv_rows_per_s"] = round(exported / export_s)
    finally:
        if pg_name:
            await drop_pg_db(pg_name)
    return out


def _days_ago(days: int) -> str:
    from hub.db import ms_to_iso

    return ms_to_iso(now_ms() - days * DAY) or ""


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{result['backend']}: {result['rows']:,} activities, heavy user"
        f" {result['heavy_user_rows']:,}"
    )
    print(f"  API ingest (batches of 1,000, keyed): {result['api_ingest_rows_per_s']:,} rows/s")
    print(f"  bulk load (INSERT…SELECT):            {result['bulk_load_s']} s")
    for name, t in result["queries"].items():
        print(f"  {name:<34} p50 {t['p50_ms']:>8.2f} ms   p95 {t['p95_ms']:>8.2f} ms")
    print(
        f"  export CSV: {result['export_csv_rows']:,} rows,"
        f" {result['export_csv_rows_per_s']:,} rows/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--heavy", type=int, default=100_000, help="rows of the one heavy user")
    parser.add_argument("--batches", type=int, default=20, help="API batches of 1,000 to time")
    parser.add_argument("--repeat", type=int, default=30, help="requests per query")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        result = await run_backend(kind, args)
        report(result)
        results.append(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "activity.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {RESULTS / 'activity.json'}")


if __name__ == "__main__":
    asyncio.run(main())
