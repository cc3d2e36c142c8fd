"""Write paths of notifications: one transaction for rows, outbox events and
delivery plans; live messages published after commit."""

from __future__ import annotations

from typing import Any

from analytics import events
from hub.db import now_ms
from hub.delivery import planner
from hub.notifications import store
from hub.notifications.batcher import SendBatcher
from hub.notifications.models import NotificationIn, to_json
from hub.realtime.publish import LiveMessage, publish

IDEMPOTENCY_SCOPE = "notifications"


# Sends to more recipients than this are written alone: they are already a batch.
BATCH_MAX_RECIPIENTS = 100


async def send(
    state: Any, payload: NotificationIn, api_key_id: str | None, *, batch: bool = False
) -> tuple[list[dict[str, Any]], bool]:
    """Create the notification for each recipient; returns (rows, replayed).

    With an idempotency key already used by this API key in the last 24 h,
    returns the original rows and creates nothing. With `batch` (the producer
    API), a send without an idempotency key may share its transaction with
    concurrent sends (hub/notifications/batcher.py); it is still all or nothing.
    """
    users = payload.recipients()
    draft = store.Draft(
        user_ids=users,
        category=payload.category,
        title=payload.title,
        body=payload.body,
        link=payload.link,
        data=payload.data,
        priority=payload.priority,
        api_key_id=api_key_id,
    )
    extra = {"email": payload.email}
    key = payload.idempotency_key
    if key and api_key_id:
        return await _send_idempotent(state, draft, extra, key)
    batcher = _batcher(state) if batch else None
    if batcher is not None and len(users) <= BATCH_MAX_RECIPIENTS:
        return await batcher.submit(draft, extra), False
    return await write_one(state, draft, extra), False


def _batcher(state: Any) -> SendBatcher | None:
    """This process's batcher (made on first use, in the serving loop); None when off."""
    found: SendBatcher | None = getattr(state, "send_batcher", None)
    if found is None:
        max_batch = state.settings.send_batch_max
        if max_batch <= 0:
            return None
        found = SendBatcher(
            state,
            lambda draft, extra: write_one(state, draft, extra),
            created_messages,
            max_batch=max_batch,
        )
        state.send_batcher = found
    return found


async def _insert(state: Any, draft: store.Draft, extra: dict[str, Any]) -> list[dict[str, Any]]:
    # a Draft's fields are insert_notifications' parameters, name for name
    rows = await store.insert_notifications(state.db, **vars(draft))
    await planner.enqueue(state, rows, extra)
    return rows


async def write_one(state: Any, draft: store.Draft, extra: dict[str, Any]) -> list[dict[str, Any]]:
    """One send in its own transaction, published after commit."""
    async with state.db.transaction():
        rows = await _insert(state, draft, extra)
    await publish(state, created_messages(rows))
    return rows


async def _send_idempotent(
    state: Any, draft: store.Draft, extra: dict[str, Any], key: str
) -> tuple[list[dict[str, Any]], bool]:
    # Alone in its transaction: the reserving INSERT is what makes a concurrent
    # retry wait for this one's outcome (see store.claim_idempotency_key).
    db = state.db
    api_key_id = draft.api_key_id
    assert api_key_id is not None
    async with db.transaction():
        prior = await store.claim_idempotency_key(db, api_key_id, IDEMPOTENCY_SCOPE, key)
        if prior is not None:
            return await store.get_many(db, prior["ids"]), True
        rows = await _insert(state, draft, extra)
        await store.store_idempotency_result(
            db, api_key_id, IDEMPOTENCY_SCOPE, key, {"ids": [r["id"] for r in rows]}
        )
    await publish(state, created_messages(rows))
    return rows, False


def created_messages(rows: list[dict[str, Any]]) -> list[LiveMessage]:
    """The ``notification.created`` live messages of one send's rows."""
    return [
        (r["user_id"], {"type": "notification.created", "notification": n})
        for r, n in zip(rows, _shared_json(rows), strict=True)
    ]


# Where created_messages leaves each row's to_json, for the API answer to reuse.
_RENDERED = "_hub_json"


def rendered(row: dict[str, Any]) -> dict[str, Any] | None:
    """``to_json(row)`` if created_messages already rendered it, else None."""
    return row.get(_RENDERED)


def _shared_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """to_json of rows from one send: all but id and user_id are the same, so
    render the first and copy it (a 10,000-user send renders once, not 10,000 times)."""
    if not rows:
        return []
    base = to_json(rows[0])
    out = [{**base, "id": r["id"], "user_id": r["user_id"]} for r in rows]
    for r, n in zip(rows, out, strict=True):
        r[_RENDERED] = n
    return out


# ---------------------------------------------------------------- state changes by the user

# Up to this many changed notifications are published whole, one message each;
# more go as one compact {"ids", "changes"} message so a read-all of thousands
# stays one small frame.
FULL_UPDATE_MAX = 5


def _events(kind: str, rows: list[dict[str, Any]], now: int) -> list[events.Event]:
    return [
        events.Event(
            kind,
            notification_id=r["id"],
            user_id=r["user_id"],
            category=r["category"],
            channel="in_app",
            priority=r["priority"],
            event_time=now,
        )
        for r in rows
    ]


def updated_messages(
    user_id: str, rows: list[dict[str, Any]], changes: dict[str, Any], whole: bool
) -> list[LiveMessage]:
    """The live messages telling `user_id`'s clients that `rows` changed (pure)."""
    if not rows:
        return []
    if whole and len(rows) <= FULL_UPDATE_MAX:
        return [
            (user_id, {"type": "notification.updated", "notification": to_json(r)}) for r in rows
        ]
    return [
        (
            user_id,
            {"type": "notification.updated", "ids": [r["id"] for r in rows], "changes": changes},
        )
    ]


async def unread_count(state: Any, user_id: str) -> int:
    return await store.count_unread(state.db, user_id)


async def _publish_with_count(state: Any, user_id: str, messages: list[LiveMessage]) -> None:
    if not messages:
        return
    count = await store.count_unread(state.db, user_id)
    await publish(state, [*messages, (user_id, {"type": "unread_count", "count": count})])


async def _change(
    state: Any,
    user_id: str,
    ids: list[int] | None,
    *,
    set_sql: str,
    condition: str,
    event: str,
    changes: dict[str, Any],
) -> list[int]:
    db = state.db
    now = now_ms()
    async with db.transaction():
        rows = await store.update_owned(db, user_id, ids, set_sql, condition, now)
        await events.record(db, _events(event, rows, now))
    await _publish_with_count(
        state, user_id, updated_messages(user_id, rows, changes, ids is not None)
    )
    return [r["id"] for r in rows]


async def mark_read(state: Any, user_id: str, ids: list[int] | None) -> list[int]:
    """Mark the user's notifications read (None = every unread one); returns ids changed."""
    return await _change(
        state,
        user_id,
        ids,
        set_sql="is_read = TRUE, read_at = :now",
        condition="NOT is_read",
        event="read",
        changes={"is_read": True},
    )


async def archive(state: Any, user_id: str, ids: list[int]) -> list[int]:
    return await _change(
        state,
        user_id,
        ids,
        set_sql="archived = TRUE, archived_at = :now",
        condition="NOT archived",
        event="archived",
        changes={"archived": True},
    )


async def unarchive(state: Any, user_id: str, ids: list[int]) -> list[int]:
    return await _change(
        state,
        user_id,
        ids,
        set_sql="archived = FALSE, archived_at = NULL",
        condition="archived",
        event="unarchived",
        changes={"archived": False},
    )


async def delete(state: Any, user_id: str, ids: list[int] | None) -> list[int]:
    """Delete the user's notifications (None = all of them); returns ids deleted."""
    db = state.db
    now = now_ms()
    async with db.transaction():
        rows = await store.delete_owned(db, user_id, ids)
        await events.record(db, _events("deleted", rows, now))
    deleted = [r["id"] for r in rows]
    if deleted:
        await _publish_with_count(
            state, user_id, [(user_id, {"type": "notification.deleted", "ids": deleted})]
        )
    return deleted


async def click(state: Any, user_id: str, notification_id: int) -> dict[str, Any] | None:
    """Record a click (and the read it implies); None when the id is not the user's."""
    db = state.db
    now = now_ms()
    async with db.transaction():
        before = await store.get_for_user(db, user_id, notification_id)
        if before is None:
            return None
        rows = await store.update_owned(
            db,
            user_id,
            [notification_id],
            "clicked_at = COALESCE(clicked_at, :now), is_read = TRUE,"
            " read_at = COALESCE(read_at, :now)",
            "TRUE",
            now,
        )
        row = rows[0]
        kinds = ["clicked"] if before["is_read"] else ["read", "clicked"]
        await events.record(db, [e for k in kinds for e in _events(k, [row], now)])
    await _publish_with_count(state, user_id, updated_messages(user_id, [row], {}, True))
    return row
