"""The `hub` command: serve, worker, migrate, demo, send, apikey, token, sql."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from hub.settings import Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return wrap


async def _with_db(settings: Settings, fn: Callable[[Any], Awaitable[int]]) -> int:
    from hub.db import Database

    db = Database(settings.database_url)
    await db.connect()
    try:
        await db.migrate()
        return await fn(db)
    finally:
        await db.disconnect()


@command("serve")
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from hub.app import create_app
    from hub.realtime.server import serve

    settings = settings.with_(
        host=args.host, port=args.port, run_workers=settings.run_workers and not args.no_workers
    )
    # HubServer closes live sockets with 1001 and ends SSE streams on shutdown
    serve(create_app(settings), settings)
    return 0


@command("migrate")
async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db import Database

    db = Database(settings.database_url)
    await db.connect()
    try:
        applied = await db.migrate()
    finally:
        await db.disconnect()
    for name in applied:
        print(f"applied {name}")
    print(f"database up to date ({len(applied)} applied)")
    if settings.analytics_url:
        from analytics.migrate import migrate_analytics

        for name in await migrate_analytics(settings):
            print(f"applied analytics {name}")
    return 0


@command("worker")
async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from hub.delivery.worker import run_standalone

    return await run_standalone(settings)


@command("sql")
async def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from analytics.sql_client import run_cli

    return await run_cli(settings, args.query, url=args.url, key=args.key, fmt=args.format)


@command("apikey")
async def cmd_apikey(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth import create_api_key, parse_scopes

    scopes = parse_scopes(args.scopes)

    async def run(db: Any) -> int:
        key_id, key = await create_api_key(db, args.name, scopes)
        print(
            f"created API key {key_id} ({args.name}) with scopes {','.join(scopes)}",
            file=sys.stderr,
        )
        print(key)
        return 0

    return await _with_db(settings, run)


@command("token")
def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth import make_user_token

    print(f"token for user {args.user_id}, valid {args.ttl} s", file=sys.stderr)
    print(make_user_token(settings.secret_key, args.user_id, ttl=args.ttl))
    return 0


@command("send")
async def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    from types import SimpleNamespace

    from hub.errors import from_pydantic
    from hub.notifications import service
    from hub.notifications.models import NotificationIn

    try:
        payload = NotificationIn(
            user_id=args.user,
            category=args.category,
            title=args.title,
            body=args.body or "",
            link=args.link,
            priority=args.priority,
        )
    except Exception as exc:  # pydantic.ValidationError
        err = from_pydantic(exc)  # type: ignore[arg-type]
        print(f"error: {err.message}", file=sys.stderr)
        return 2

    async def run(db: Any) -> int:
        state = SimpleNamespace(db=db, settings=settings)
        rows, _ = await service.send(state, payload, None)
        print(json.dumps({"ids": [r["id"] for r in rows]}))
        return 0

    return await _with_db(settings, run)


@command("demo")
async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hub.demo import seed

    return await _with_db(settings, lambda db: seed(db, settings))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hub", description="Real-time notification and analytics hub")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the web app (and, by default, workers and ingester)")
    s.add_argument("--host", default=None, help="bind address (default HUB_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default HUB_PORT or 8000)")
    s.add_argument(
        "--no-workers",
        action="store_true",
        help="serve HTTP/WebSocket only; run `hub worker` elsewhere",
    )

    sub.add_parser("migrate", help="apply pending database (and analytics) migrations")

    s = sub.add_parser("apikey", help="manage API keys")
    ak = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = ak.add_parser("create", help="create a key; the key alone is printed on the last line")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--scopes", required=True, help="comma-separated: notify,activity,analytics,admin"
    )

    s = sub.add_parser("token", help="print a signed user token (JWT) on the last line")
    s.add_argument("user_id")
    s.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")

    s = sub.add_parser("send", help="send a notification to one user")
    s.add_argument("--user", required=True)
    s.add_argument("--category", required=True)
    s.add_argument("--title", required=True)
    s.add_argument("--body", default="")
    s.add_argument("--link", default=None)
    s.add_argument("--priority", default="normal", choices=["low", "normal", "high", "critical"])

    sub.add_parser("demo", help="seed demo users, notifications and an admin key; print links")
    sub.add_parser("worker", help="run delivery workers and the analytics ingester only")

    s = sub.add_parser("sql", help="run read-only SQL on the analytics store via the running hub")
    s.add_argument("query")
    s.add_argument("--url", default=None, help="hub base URL (default HUB_BASE_URL)")
    s.add_argument("--key", default=None, help="admin API key (default HUB_API_KEY)")
    s.add_argument("--format", default="table", choices=["table", "json", "csv"])
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings()
    if args.command == "serve":
        args.host = args.host or settings.host
        args.port = args.port or settings.port
    handler = COMMANDS[args.command]
    try:
        result = handler(args, settings)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from hub.errors import HubError

        if isinstance(exc, HubError):
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        raise
    return int(result or 0)  # type: ignore[arg-type]
