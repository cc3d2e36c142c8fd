"""Analytics benchmark: events → outbox → real ingester → chDB → API, and a Postgres baseline.

    .venv/bin/python bench/analytics.py --events 10000000 --days 90
    .venv/bin/python bench/analytics.py --events 1000000 --no-postgres   # quick
    .venv/bin/python bench/analytics.py --load direct --dir /tmp/a10m --no-postgres
    .venv/bin/python bench/analytics.py --skip-load --dir /tmp/a10m --no-postgres   # queries only

``--load direct`` writes the generated events straight into chDB (Sink.insert_arrow,
blocks of --batch; the materialized views fire as in production) instead of the
outbox + Ingester path, and reports the insert cost per block; ``--skip-load``
reuses the store a previous run left in ``--dir`` (its ``bench.json`` keeps the
window end, so the windows are the same).

Prints ingest throughput (the real Ingester: claim, load, insert with a dedup
token, prune) and p50/p95 of every analytics endpoint through the HTTP API
on raw events and on the hourly rollup, then runs the same aggregations in
Postgres over the same events (as a user without ClickHouse would) and prints
the ratio. Writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import queries  # noqa: E402
from analytics.ingest import INSERT_SETTINGS, Ingester  # noqa: E402
from analytics.migrate import apply_migrations  # noqa: E402
from analytics.sink import sink_from_url  # noqa: E402
from hub.db import Database, ms_to_iso  # noqa: E402
from hub.settings import Settings  # noqa: E402

EVENTS = np.array(
    ["created", "sent", "delivered", "read", "clicked", "failed", "archived", "deferred"]
)
EVENT_P = np.array([0.30, 0.20, 0.19, 0.15, 0.05, 0.02, 0.06, 0.03])
CATEGORIES = np.array(
    ["billing", "security", "social", "marketing", "system", "orders", "reminders", "news"]
)
CHANNELS = np.array(["in_app", "email", "push", "webhook", "chat"])
CHANNEL_P = np.array([0.45, 0.25, 0.2, 0.06, 0.04])
PRIORITIES = np.array(["low", "normal", "high", "critical"])
ENDPOINTS = ["summary", "by-type", "by-method", "timeline", "funnel", "latency", "heatmap"]
PG_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)


def chunks(n: int, days: int, end_ms: int, seed: int, size: int = 500_000) -> Iterator[dict]:
    """Deterministic synthetic events in time order, as columns, `size` at a time."""
    rng = np.random.default_rng(seed)
    span = days * 86_400_000
    notifications = max(1, n // 3)
    done = 0
    while done < n:
        k = min(size, n - done)
        ev = rng.choice(EVENTS, k, p=EVENT_P)
        lat = np.where(ev == "delivered", rng.gamma(2.0, 400.0, k).astype(np.int64), -1)
        yield {
            "event_id": _uuids(rng, k),
            # in time order, as the outbox receives them
            "event_time": end_ms
            - span
            + np.sort(rng.integers(span * done // n, span * (done + k) // n, k)),
            "event": ev,
            "notification_id": rng.integers(1, notifications + 1, k),
            "user_id": np.char.add("u", rng.integers(0, 50_000, k).astype(str)),
            "category": rng.choice(CATEGORIES, k),
            "channel": rng.choice(CHANNELS, k, p=CHANNEL_P),
            "priority": rng.choice(PRIORITIES, k),
            "latency_ms": lat,
            "error_code": np.where(ev == "failed", "smtp_550", ""),
        }
        done += k


def _uuids(rng: np.random.Generator, k: int) -> list[str]:
    raw = rng.bytes(16 * k).hex()
    return [
        "-".join(
            (
                raw[i : i + 8],
                raw[i + 8 : i + 12],
                "4" + raw[i + 13 : i + 16],
                "a" + raw[i + 17 : i + 20],
                raw[i + 20 : i + 32],
            )
        )
        for i in range(0, 32 * k, 32)
    ]


def rows_of(c: dict) -> Iterator[tuple]:
    lat = [None if v < 0 else int(v) for v in c["latency_ms"].tolist()]
    return zip(
        c["event_id"],
        c["event_time"].tolist(),
        c["event"].tolist(),
        c["notification_id"].tolist(),
        c["user_id"].tolist(),
        c["category"].tolist(),
        c["channel"].tolist(),
        c["priority"].tolist(),
        lat,
        [e or None for e in c["error_code"].tolist()],
        strict=True,
    )


def fill_outbox(db_path: str, source: Iterator[dict], rounds: int) -> float:
    """Write `rounds` chunks from `source` into the outbox (the producers' side, not timed)."""
    t = time.perf_counter()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA synchronous=OFF")
    for _, c in zip(range(rounds), source, strict=False):
        con.executemany(
            "INSERT INTO outbox (event_id, event_time, event, notification_id, user_id,"
            " category, channel, priority, latency_ms, error_code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows_of(c),
        )
        con.commit()
    con.close()
    return time.perf_counter() - t


def arrow_of(c: dict) -> Any:
    """A generated chunk as the Arrow table the Ingester's `to_arrow` would build from the
    same outbox rows (no latency stays NULL there too)."""
    import pyarrow as pa

    ts = pa.array(c["event_time"], pa.int64()).cast(pa.timestamp("ms", "UTC"))
    k = len(c["event_time"])
    empty = pa.array(np.full(k, ""), pa.string())
    return pa.table(
        {
            "event_id": pa.array(c["event_id"], pa.string()),
            "event_time": ts,
            "event": pa.array(c["event"], pa.string()),
            "notification_id": pa.array(c["notification_id"].astype(np.uint64)),
            "user_id": pa.array(c["user_id"], pa.string()),
            "category": pa.array(c["category"], pa.string()),
            "channel": pa.array(c["channel"], pa.string()),
            "priority": pa.array(c["priority"], pa.string()),
            "latency_ms": pa.array(
                np.maximum(c["latency_ms"], 0).astype(np.uint32), mask=c["latency_ms"] < 0
            ),
            "error_code": pa.array(c["error_code"], pa.string()),
            "api_key_id": empty,
            "metadata": empty,
        }
    )


async def load_direct(settings: Settings, source: Iterator[dict], batch: int) -> dict[str, Any]:
    """Generated events straight into chDB, `batch` per insert (MVs fire per block)."""
    sink = sink_from_url(settings.analytics_url)
    await apply_migrations(sink, settings.analytics_ttl_days)
    n, wall, cpu, walls, cpus = 0, 0.0, 0.0, [], []
    for c in source:
        table = arrow_of(c)
        for off in range(0, table.num_rows, batch):
            part = table.slice(off, batch)
            t, c0 = time.perf_counter(), time.process_time()
            await sink.insert_arrow("events", part, settings=INSERT_SETTINGS)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c0)
            n += part.num_rows
    sink.close()
    wall, cpu = sum(walls), sum(cpus)
    return {
        "events": n,
        "insert_seconds": round(wall, 2),
        "insert_cpu_seconds": round(cpu, 2),
        "events_per_s": round(n / wall) if wall else None,
        "batch_size": batch,
        "per_batch_ms_p50": round(pct(walls, 0.5) * 1000, 1),
        "per_batch_cpu_ms_p50": round(pct(cpus, 0.5) * 1000, 1),
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]


async def open_ingester(settings: Settings, batch: int) -> Ingester:
    """One ingester for the whole run, as `hub worker` keeps one (its connections stay open)."""
    db = Database(settings.database_url)
    await db.connect()
    sink = sink_from_url(settings.analytics_url)
    await apply_migrations(sink, settings.analytics_ttl_days)
    return Ingester(db, sink, settings.with_(ingest_batch_size=batch))


async def close_ingester(ing: Ingester) -> None:
    await ing.release_lease()
    ing.close()
    ing.sink.close()
    await ing.db.disconnect()


async def ingest(ing: Ingester) -> dict[str, Any]:
    """Drain the outbox; throughput, CPU and the store's insert time of this drain."""
    batch = ing.batch_size
    insert0 = ing.stats.insert_seconds
    t, c0 = time.perf_counter(), time.process_time()
    n = await ing.drain(max_rounds=1_000_000)
    total = time.perf_counter() - t
    cpu = time.process_time() - c0
    insert_s = ing.stats.insert_seconds - insert0  # the store's inserts (Arrow or pulled)
    return _rates(n, total, cpu, insert_s, batch)


def _rates(n: int, seconds: float, cpu: float, insert_s: float, batch: int) -> dict[str, Any]:
    """Pure: an ingest's throughput (wall, CPU, the store's inserts alone)."""
    return {
        "events": n,
        "seconds": round(seconds, 2),
        "events_per_s": round(n / seconds),
        "cpu_seconds": round(cpu, 2),
        "events_per_cpu_s": round(n / cpu) if cpu else None,
        "sink_insert_seconds": round(insert_s, 2),
        "sink_events_per_s": round(n / insert_s) if insert_s else None,
        "batch_size": batch,
    }


async def bench_api(
    settings: Settings,
    end_ms: int,
    windows: list[int],
    sources: list[str],
    endpoints: list[str],
    repeat: int,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    import httpx

    from hub.app import create_app
    from hub.auth import create_api_key
    from hub.realtime.server import tune_gc

    app = create_app(settings)
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        tune_gc()  # as `hub serve` runs the app
        _, key = await create_api_key(app.state.db, "bench", ["analytics"])
        headers = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            for window_days in windows:
                start = end_ms - window_days * 86_400_000
                params = {"from": ms_to_iso(start), "to": ms_to_iso(end_ms + 1), **(filters or {})}
                for source in sources:
                    for ep in endpoints:
                        p = {**params, "source": source}
                        if ep == "timeline":
                            p["interval"] = "day" if window_days > 30 else "hour"
                        times, cpu = [], []
                        for i in range(repeat + 2):
                            t, c0 = time.perf_counter(), time.process_time()
                            r = await c.get(
                                f"/api/notifications/analytics/{ep}", params=p, headers=headers
                            )
                            dt = (time.perf_counter() - t) * 1000
                            assert r.status_code == 200, r.text
                            if i >= 2:
                                times.append(dt)
                                cpu.append((time.process_time() - c0) * 1000)
                        key_ = f"{window_days}d/{source}/{ep}"
                        out[key_] = {
                            "p50": round(pct(times, 0.5), 1),
                            "p95": round(pct(times, 0.95), 1),
                            "cpu_p50": round(pct(cpu, 0.5), 1),
                            "answered_from": r.json().get("source"),
                            "loadavg": os.getloadavg()[0],
                        }
                        print(
                            f"  {key_:<28} p50 {out[key_]['p50']:>7.1f} ms"
                            f"  p95 {out[key_]['p95']:>7.1f} ms"
                            f"  (CPU p50 {out[key_]['cpu_p50']:>6.1f} ms)"
                            f"  load {out[key_]['loadavg']:.1f}",
                            flush=True,
                        )
    return out


async def bench_postgres(n: int, days: int, end_ms: int, seed: int, repeat: int) -> dict[str, Any]:
    import asyncpg

    name = f"hub_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    con = await asyncpg.connect(url)
    out: dict[str, Any] = {}
    try:
        await con.execute(
            "CREATE TABLE events (event_id uuid, event_time bigint, event text,"
            " notification_id bigint, user_id text, category text, channel text, priority text,"
            " latency_ms integer, error_code text)"
        )
        t = time.perf_counter()
        for c in chunks(n, days, end_ms, seed):
            await con.copy_records_to_table("events", records=list(rows_of(c)))
        await con.execute("CREATE INDEX ON events (event_time)")
        await con.execute("CREATE INDEX ON events (event, event_time)")
        await con.execute("CREATE INDEX ON events (channel, event, event_time)")
        await con.execute("VACUUM ANALYZE events")
        out["load_seconds"] = round(time.perf_counter() - t, 1)
        print(f"  postgres: loaded {n:,} events with indexes in {out['load_seconds']} s")
        start = end_ms - days * 86_400_000
        for ep, sql in queries.POSTGRES_BASELINE.items():
            q = sql.replace(":interval", str(queries.DAY_MS))
            times = []
            for i in range(repeat + 1):
                t0 = time.perf_counter()
                await con.fetch(q, start, end_ms + 1)
                if i >= 1:
                    times.append((time.perf_counter() - t0) * 1000)
            out[ep] = {"p50": round(pct(times, 0.5), 1), "p95": round(pct(times, 0.95), 1)}
            print(
                f"  postgres {ep:<10} p50 {out[ep]['p50']:>8.1f} ms  p95 {out[ep]['p95']:>8.1f} ms",
                flush=True,
            )
    finally:
        await con.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--batch", type=int, default=100_000, help="ingest batch size")
    ap.add_argument("--repeat", type=int, default=10, help="timed runs per endpoint")
    ap.add_argument("--pg-repeat", type=int, default=5)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-api", action="store_true", help="ingest only")
    ap.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="outbox rows written before each drain (default: all events at once)",
    )
    ap.add_argument(
        "--arrow",
        action="store_true",
        help="ingest by reading rows in Python and sending Arrow (what a ClickHouse server"
        " gets) instead of chDB pulling each batch from a SQLite file",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    ap.add_argument(
        "--load",
        choices=("outbox", "direct"),
        default="outbox",
        help="outbox: SQLite outbox + Ingester (default); direct: Sink.insert_arrow into chDB",
    )
    ap.add_argument("--skip-load", action="store_true", help="reuse the store left in --dir")
    ap.add_argument(
        "--windows", default="", help="comma-separated window lengths in days (default: 7,DAYS)"
    )
    ap.add_argument("--sources", default="raw,rollup", help="sources to time (raw, rollup, auto)")
    ap.add_argument("--endpoints", default=",".join(ENDPOINTS))
    ap.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="query filter for every endpoint, e.g. category=billing (repeatable)",
    )
    args = ap.parse_args()

    if args.skip_load and not args.dir:
        ap.error("--skip-load needs --dir")
    work = Path(args.dir or tempfile.mkdtemp(prefix="hub-bench-analytics-"))
    meta_path = work / "bench.json"
    if args.skip_load:
        meta = json.loads(meta_path.read_text())
        end_ms, args.events, args.days = meta["end_ms"], meta["events"], meta["days"]
    else:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        end_ms = int(time.time() * 1000)
    settings = Settings(
        database_url=f"sqlite:///{work}/hub.db",
        analytics_url=f"chdb://{work}/chdb",
        secret_key="bench-" + secrets.token_hex(16),
        run_workers=False,
        email_url=f"file://{work}/mail",
    )
    result: dict[str, Any] = {
        "events": args.events,
        "days": args.days,
        "machine_cores": os.cpu_count(),
    }
    db = Database(settings.database_url)
    await db.connect()
    await db.migrate()
    await db.disconnect()

    print(f"load average {os.getloadavg()} on {os.cpu_count()} cores")
    result["loadavg_start"] = os.getloadavg()
    if args.skip_load:
        print(f"reusing the store in {work} ({args.events:,} events over {args.days} days)")
    elif args.load == "direct":
        print(f"{args.events:,} events over {args.days} days straight into chDB …")
        d = await load_direct(
            settings, chunks(args.events, args.days, end_ms, args.seed), args.batch
        )
        result["direct_load"] = d
        print(
            f"  {d['events']:,} events in {d['insert_seconds']} s = {d['events_per_s']:,} events/s;"
            f" per {args.batch:,}-event insert p50 {d['per_batch_ms_p50']} ms"
            f" (CPU {d['per_batch_cpu_ms_p50']} ms)"
        )
    else:
        await _load_outbox(args, settings, end_ms, work, result)
    if not args.skip_load:
        meta_path.write_text(
            json.dumps({"end_ms": end_ms, "events": args.events, "days": args.days})
        )
    await _queries(args, settings, end_ms, result)
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


async def _load_outbox(
    args: argparse.Namespace, settings: Settings, end_ms: int, work: Path, result: dict[str, Any]
) -> None:
    backlog = min(args.backlog or args.events, args.events)
    chunk = min(500_000, backlog)
    source = chunks(args.events, args.days, end_ms, args.seed, chunk)
    print(
        f"{args.events:,} events over {args.days} days, written to the SQLite outbox"
        f" {backlog:,} at a time, each backlog drained by the Ingester (batch {args.batch:,}) …"
    )
    fill_s, parts = 0.0, []
    ingester = await open_ingester(settings, args.batch)
    ingester.pull = ingester.pull and not args.arrow
    result["ingest_path"] = "pull" if ingester.pull else "arrow"
    try:
        while True:
            fill_s += fill_outbox(f"{work}/hub.db", source, max(1, backlog // chunk))
            part = await ingest(ingester)
            if part["events"] == 0:
                break
            parts.append(part)
    finally:
        await close_ingester(ingester)
    result["outbox_fill_seconds"] = round(fill_s, 1)
    result["ingest"] = ing = {
        **_rates(
            sum(p["events"] for p in parts),
            sum(p["seconds"] for p in parts),
            sum(p["cpu_seconds"] for p in parts),
            sum(p["sink_insert_seconds"] for p in parts),
            args.batch,
        ),
        "backlog": backlog,
    }
    print(
        f"  {ing['events']:,} events in {ing['seconds']} s = {ing['events_per_s']:,} events/s"
        f" end to end; chDB inserts alone {ing['sink_events_per_s']:,} events/s;"
        f" {ing['cpu_seconds']} CPU-s = {ing['events_per_cpu_s']:,} events per CPU-second"
    )


async def _queries(
    args: argparse.Namespace, settings: Settings, end_ms: int, result: dict[str, Any]
) -> None:
    backlog = min(args.backlog or args.events, args.events)
    sink = sink_from_url(settings.analytics_url)
    rows = (
        await sink.query("SELECT (SELECT count() FROM events), (SELECT count() FROM events_hourly)")
    ).rows
    sink.close()
    result["raw_rows"], result["rollup_rows"] = int(rows[0][0]), int(rows[0][1])
    print(f"  raw rows {result['raw_rows']:,}, hourly rollup rows {result['rollup_rows']:,}")

    if args.no_api:
        args.no_postgres = True
    else:
        windows = sorted(
            {int(w) for w in args.windows.split(",") if w}
            or {w for w in (7, 30) if w < args.days} | {args.days}
        )
        sources = [x for x in args.sources.split(",") if x]
        endpoints = [x for x in args.endpoints.split(",") if x]
        print(f"API latency over HTTP (ASGI), {args.repeat} runs each after 2 warm-ups:")
        filters = dict(f.split("=", 1) for f in args.filter)
        result["api"] = await bench_api(
            settings, end_ms, windows, sources, endpoints, args.repeat, filters
        )

    if not args.no_postgres:
        print("Postgres baseline (same events, same aggregations, indexed):")
        pg = await bench_postgres(args.events, args.days, end_ms, args.seed, args.pg_repeat)
        result["postgres"] = pg
        print(f"ratio over the {args.days}-day window (Postgres p50 / chDB p50):")
        ratios: dict[str, dict[str, float]] = {}
        for ep in ENDPOINTS:
            pg50 = pg[ep]["p50"]
            ratios[ep] = {
                source: round(pg50 / result["api"][f"{args.days}d/{source}/{ep}"]["p50"], 1)
                for source in sources
                if f"{args.days}d/{source}/{ep}" in result["api"]
            }
            print(f"  {ep:<10} " + "   ".join(f"{k} {v:>6.1f}x" for k, v in ratios[ep].items()))
        result["ratios"] = ratios
    result["loadavg_end"] = os.getloadavg()

    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{args.events}" + (f"-backlog{backlog}" if backlog < args.events else "")
    path = out_dir / f"analytics-{tag}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    asyncio.run(main())
