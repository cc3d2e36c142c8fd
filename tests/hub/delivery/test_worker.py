"""Workers running for real: in-process with `hub serve` (the lifespan), and `hub worker`."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from hub.delivery.worker import run_standalone
from tests.conftest import make_settings, start_hub
from tests.hub.delivery.conftest import SmtpServer, profile


async def wait_for(predicate, limit: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_serve_runs_workers_in_process(db_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    settings = make_settings(
        db_url, tmp_path, email_url=smtp.url, run_workers=True, delivery_poll_interval=0.02
    )
    async for hub in start_hub(settings):
        pool = hub.state.delivery_workers
        assert pool is not None and len(pool.tasks) == settings.delivery_workers
        await profile(hub, "alice", email="alice@example.com")
        await hub.send(["alice"], title="live")
        await wait_for(lambda: len(smtp.to("alice@example.com")) == 1)
    # stopped cleanly by the lifespan
    assert pool.tasks == [] and pool.stop_event.is_set()


async def test_hub_worker_runs_alone_until_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    settings = make_settings(
        sqlite_url,
        tmp_path,
        email_url=f"file://{mail}",
        delivery_workers=2,
        delivery_poll_interval=0.02,
    )
    # the producer side: the web app without workers
    async for hub in start_hub(settings):
        await profile(hub, "bob", email="bob@example.com")
        await hub.send("bob", title="from another process")
    task = asyncio.create_task(run_standalone(settings))
    await wait_for(lambda: mail.exists() and len(list(mail.glob("*.eml"))) == 1)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0
    (eml,) = mail.glob("*.eml")
    assert "from another process" in eml.read_text()


async def test_hub_worker_also_runs_the_ingester(
    sqlite_url: str, tmp_path: Path, monkeypatch
) -> None:
    import analytics.ingest

    seen: dict = {}

    async def fake_ingester(state, stop_event: asyncio.Event) -> None:
        seen["db"] = state.db
        await stop_event.wait()
        seen["stopped"] = True

    monkeypatch.setattr(analytics.ingest, "run_ingester", fake_ingester)
    settings = make_settings(
        sqlite_url, tmp_path, analytics_url=f"chdb:///{tmp_path}/never-opened", delivery_workers=1
    )
    task = asyncio.create_task(run_standalone(settings))
    await wait_for(lambda: "db" in seen)
    os.kill(os.getpid(), signal.SIGINT)
    assert await asyncio.wait_for(task, 10) == 0
    assert seen["stopped"] is True
