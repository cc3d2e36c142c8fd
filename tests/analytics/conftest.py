"""Analytics fixtures: the app on SQLite and Postgres with analytics on chDB (or a server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Hub, make_settings, start_hub


@pytest.fixture
async def ahub(db_url: str, analytics_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    """Primary DB × analytics store, small batches so a scenario spans several."""
    settings = make_settings(db_url, tmp_path, analytics_url=analytics_url, ingest_batch_size=4)
    async for h in start_hub(settings):
        yield h


async def get(hub: Hub, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await hub.client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def crash_every_other_prune(
    monkeypatch: pytest.MonkeyPatch, ingester: Any, exc: type[BaseException] = TimeoutError
) -> dict[str, int]:
    """Make every other prune fail after the store confirmed (the answer lost): each batch
    is then sent twice. Returns the call counter."""
    real_prune = ingester.prune
    calls = {"n": 0}

    async def prune(batch_id: int, n: int) -> None:
        calls["n"] += 1
        if calls["n"] % 2 == 1:
            raise exc("lost the answer")
        await real_prune(batch_id, n)

    monkeypatch.setattr(ingester, "prune", prune)
    return calls


async def drain_through_failures(ingester: Any, exc: type[BaseException] = TimeoutError) -> None:
    """Run rounds until one sends nothing, starting a new round after each `exc`."""
    while True:
        try:
            if await ingester.run_once() == 0:
                return
        except exc:
            continue
