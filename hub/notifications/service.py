"""Write paths of notifications: one transaction for rows, outbox events and
delivery plans; live messages published after commit."""

from __future__ import annotations

from typing import Any

from hub.delivery import planner
from hub.notifications import store
from hub.notifications.models import NotificationIn, to_json
from hub.realtime.publish import publish

IDEMPOTENCY_SCOPE = "notifications"


async def send(
    state: Any, payload: NotificationIn, api_key_id: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """Create the notification for each recipient; returns (rows, replayed).

    With an idempotency key already used by this API key in the last 24 h,
    returns the original rows and creates nothing.
    """
    users = payload.recipients()
    db = state.db
    key = payload.idempotency_key
    async with db.transaction():
        if key and api_key_id:
            prior = await store.claim_idempotency_key(db, api_key_id, IDEMPOTENCY_SCOPE, key)
            if prior is not None:
                return await store.get_many(db, prior["ids"]), True
        rows = await store.insert_notifications(
            db,
            users,
            category=payload.category,
            title=payload.title,
            body=payload.body,
            link=payload.link,
            data=payload.data,
            priority=payload.priority,
            api_key_id=api_key_id,
        )
        await planner.enqueue(state, rows, {"email": payload.email})
        if key and api_key_id:
            await store.store_idempotency_result(
                db, api_key_id, IDEMPOTENCY_SCOPE, key, {"ids": [r["id"] for r in rows]}
            )
    await publish(
        state,
        [
            (r["user_id"], {"type": "notification.created", "notification": to_json(r)})
            for r in rows
        ],
    )
    return rows, False
