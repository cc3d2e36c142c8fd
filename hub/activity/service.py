"""Producer write path: a single activity or a batch, with idempotency keys.

Keys work as for notifications (``claim_idempotency_key``, 24 h; batched in
``idempotency.py``): each
item's ``idempotency_key`` guards that item (scope ``activities``), and an
``Idempotency-Key`` header on a batch guards the whole request (scope
``activities.batch``; on a single activity it is that activity's key). A
retry, even a concurrent one, gets the first request's activities back and
creates nothing.
"""

from __future__ import annotations

from typing import Any

from hub.activity import idempotency, store
from hub.activity.models import ActivityIn, to_json
from hub.activity.track import publish_created
from hub.errors import Invalid
from hub.notifications.store import claim_idempotency_key, store_idempotency_result

ITEM_SCOPE = "activities"
BATCH_SCOPE = "activities.batch"


def check_unique_keys(items: list[ActivityIn]) -> None:
    """Two items with one key in the same batch would both be created: refuse."""
    seen: set[str] = set()
    for n, item in enumerate(items):
        key = item.idempotency_key
        if key is None:
            continue
        if key in seen:
            raise Invalid.field(
                f"activities.{n}.idempotency_key", "used by an earlier item of this batch"
            )
        seen.add(key)


async def record(
    state: Any,
    items: list[ActivityIn],
    api_key_id: str | None,
    batch_key: str | None = None,
) -> tuple[list[dict[str, Any]], list[bool]]:
    """Create the activities; returns (their JSON in request order, replayed flag per item)."""
    check_unique_keys(items)
    db = state.db
    key_id = api_key_id or ""
    keyed = bool(api_key_id)  # sessions without a key id cannot own idempotency keys
    async with db.transaction():
        if keyed and batch_key:
            prior = await claim_idempotency_key(db, key_id, BATCH_SCOPE, batch_key)
            if prior is not None:
                rows = await store.get_many(db, prior["ids"])
                return [to_json(r) for r in rows], [True] * len(rows)
        earlier: dict[str, int] = {}
        if keyed:
            keys = [i.idempotency_key for i in items if i.idempotency_key]
            prior_items = await idempotency.claim_many(db, key_id, ITEM_SCOPE, keys)
            earlier = {k: v["id"] for k, v in prior_items.items()}
        fresh = [i for i in items if i.idempotency_key not in earlier]
        new_rows = await store.insert(db, fresh, api_key_id)
        if keyed:
            made = {r["idempotency_key"]: {"id": r["id"]} for r in new_rows if r["idempotency_key"]}
            await idempotency.store_many(db, key_id, ITEM_SCOPE, made)
        old_rows = {r["id"]: r for r in await store.get_many(db, list(earlier.values()))}
        rows, replayed = _in_request_order(items, earlier, old_rows, new_rows)
        if keyed and batch_key:
            await store_idempotency_result(
                db, key_id, BATCH_SCOPE, batch_key, {"ids": [r["id"] for r in rows]}
            )
    # rendered once, for the live message and the answer alike
    activities = [to_json(r) for r in rows]
    await publish_created(
        state, [a for a, old in zip(activities, replayed, strict=True) if not old]
    )
    return activities, replayed


def _in_request_order(
    items: list[ActivityIn],
    earlier: dict[str, int],
    old_rows: dict[int, dict[str, Any]],
    new_rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[bool]]:
    fresh = iter(new_rows)
    rows: list[dict[str, Any]] = []
    replayed: list[bool] = []
    for item in items:
        key = item.idempotency_key
        if key in earlier and earlier[key] in old_rows:
            rows.append(old_rows[earlier[key]])
            replayed.append(True)
        elif key not in earlier:
            rows.append(next(fresh))
            replayed.append(False)
    return rows, replayed
