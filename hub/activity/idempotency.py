"""Idempotency keys for a whole batch at once.

The same table, TTL and semantics as ``hub.notifications.store.claim_idempotency_key``
(which guards one key per request), done in a constant number of statements
so a batch of 1,000 keyed activities does not cost 3,000 round trips. Keys are
claimed in sorted order so two overlapping batches wait on each other instead
of deadlocking; a concurrent retry of the same key waits on the first
transaction (Postgres row lock, SQLite write lock) and then sees its result.
"""

from __future__ import annotations

import json
from typing import Any

from hub.db import Database, in_list, now_ms
from hub.notifications.store import IDEMPOTENCY_TTL_MS


async def _results(db: Database, api_key_id: str, scope: str, keys: list[str]) -> list[dict]:
    if db.is_postgres:
        # one array parameter instead of 1,000 bound names to compile
        records = await db.raw_connection().fetch(
            "SELECT key, created_at, result FROM idempotency_keys"
            " WHERE api_key_id = $1 AND scope = $2 AND key = ANY($3::text[])",
            api_key_id,
            scope,
            keys,
        )
        return [dict(r) for r in records]
    marks, params = in_list("x", keys)
    return await db.fetch_all(
        "SELECT key, created_at, result FROM idempotency_keys"
        f" WHERE api_key_id = :k AND scope = :s AND key IN ({marks})",
        {"k": api_key_id, "s": scope, **params},
    )


async def claim_many(db: Database, api_key_id: str, scope: str, keys: list[str]) -> dict[str, Any]:
    """Inside a transaction: reserve every new key; returns {key: earlier result} for the rest."""
    if not keys:
        return {}
    now = now_ms()
    earlier: dict[str, Any] = {}
    stale: list[str] = []
    for row in await _results(db, api_key_id, scope, keys):
        if now - row["created_at"] < IDEMPOTENCY_TTL_MS and row["result"]:
            earlier[row["key"]] = json.loads(row["result"])
        else:
            stale.append(row["key"])
    if stale:
        marks, params = in_list("x", stale)
        await db.execute(
            "DELETE FROM idempotency_keys WHERE api_key_id = :k AND scope = :s"
            f" AND key IN ({marks})",
            {"k": api_key_id, "s": scope, **params},
        )
    todo = sorted(set(keys) - earlier.keys())
    if not todo:
        return earlier
    raw = db.raw_connection()
    if db.is_postgres:
        records = await raw.fetch(
            "INSERT INTO idempotency_keys (api_key_id, scope, key, created_at)"
            " SELECT $1, $2, k, $4 FROM unnest($3::text[]) AS t(k) ORDER BY k"
            " ON CONFLICT DO NOTHING RETURNING key",
            api_key_id,
            scope,
            todo,
            now,
        )
        claimed = {r["key"] for r in records}
    else:
        # the transaction holds SQLite's write lock: nobody else can claim meanwhile
        await raw.executemany(
            "INSERT INTO idempotency_keys (api_key_id, scope, key, created_at) VALUES (?, ?, ?, ?)",
            [(api_key_id, scope, k, now) for k in todo],
        )
        claimed = set(todo)
    lost = [k for k in todo if k not in claimed]
    if lost:
        # a concurrent request committed these keys while we waited on its lock
        for row in await _results(db, api_key_id, scope, lost):
            if row["result"]:
                earlier[row["key"]] = json.loads(row["result"])
    return earlier


async def store_many(db: Database, api_key_id: str, scope: str, results: dict[str, Any]) -> None:
    """Record what each claimed key produced (same transaction as the claim)."""
    if not results:
        return
    keys = list(results)
    encoded = [json.dumps(results[k]) for k in keys]
    raw = db.raw_connection()
    if db.is_postgres:
        await raw.execute(
            "UPDATE idempotency_keys AS t SET result = v.r"
            " FROM unnest($3::text[], $4::text[]) AS v(k, r)"
            " WHERE t.api_key_id = $1 AND t.scope = $2 AND t.key = v.k",
            api_key_id,
            scope,
            keys,
            encoded,
        )
    else:
        await raw.executemany(
            "UPDATE idempotency_keys SET result = ? WHERE api_key_id = ? AND scope = ? AND key = ?",
            [(r, api_key_id, scope, k) for k, r in zip(keys, encoded, strict=True)],
        )
