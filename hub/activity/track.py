"""track(): how the hub itself records an activity (logins, settings, devices, ...).

Other parts call it after their own change has committed: the activity row is
written in its own transaction and then pushed live as ``activity.created``.
(Called inside an open transaction it joins it, and the live message would
go out before that outer commit.)
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pydantic import ValidationError
from starlette.requests import HTTPConnection

from hub.activity import store
from hub.activity.models import ActivityIn, to_json
from hub.db import now_ms
from hub.errors import from_pydantic
from hub.realtime.publish import publish

log = logging.getLogger("hub.activity")

USER_AGENT_MAX = 500


def client_of(request: HTTPConnection | None) -> tuple[str | None, str | None]:
    """(ip address, user agent) of the request, as far as the server can see them."""
    if request is None:
        return None, None
    ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent")
    return ip, agent[:USER_AGENT_MAX] if agent else None


def build(
    user_id: str,
    activity_type: str,
    action: str,
    title: str,
    **fields: Any,
) -> ActivityIn:
    """A validated ActivityIn, or Invalid (422) naming the bad field."""
    try:
        return ActivityIn.model_validate(
            {
                "user_id": user_id,
                "activity_type": activity_type,
                "action": action,
                "title": title[:200],
                **{k: v for k, v in fields.items() if v is not None},
            }
        )
    except ValidationError as exc:
        raise from_pydantic(exc) from None


async def track(
    state: Any,
    user_id: str,
    activity_type: str,
    action: str,
    title: str,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    status: str = "completed",
    description: str = "",
    metadata: dict[str, Any] | None = None,
    request: HTTPConnection | None = None,
    created_at: int | None = None,
) -> dict[str, Any]:
    """Record one activity for `user_id` and publish it live; returns its JSON form."""
    ip, agent = client_of(request)
    item = build(
        user_id,
        activity_type,
        action,
        title,
        resource_type=resource_type,
        resource_id=resource_id,
        status=status,
        description=description[:2000],
        metadata=metadata,
        ip_address=_valid_ip(ip),
        user_agent=agent,
    )
    db = state.db
    async with db.transaction():
        (row,) = await store.insert(db, [item], None, created_at)
    activity = to_json(row)
    await publish_created(state, [activity])
    return activity


async def publish_created(state: Any, activities: list[dict[str, Any]]) -> None:
    """Push new activities live; best effort, as they are committed already.

    A failure here must not turn a recorded activity into an error answer
    (a producer would retry and duplicate it); clients catch up from the feed.
    """
    try:
        await publish(
            state,
            [(a["user_id"], {"type": "activity.created", "activity": a}) for a in activities],
        )
    except Exception:
        log.exception("could not publish %d new activities live", len(activities))


def _valid_ip(ip: str | None) -> str | None:
    # test clients report hosts like "testclient"; an activity only keeps real addresses
    if ip is None:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


API_KEY_EVERY_MS = 3600 * 1000


async def track_api_key_use(
    state: Any,
    key_id: str,
    user_id: str,
    what: str,
    *,
    request: HTTPConnection | None = None,
) -> dict[str, Any] | None:
    """Record that API key `key_id` acted on `user_id`'s account (e.g. changed settings).

    At most one such activity per key and user per hour (checked in the
    database, so it holds across processes): the feed shows that a service
    acted for the user without one row per call. Returns the activity, or
    None when one was recorded within the hour.
    """
    last = await store.last_of_kind(state.db, user_id, "api_key", "api_key", key_id)
    now = now_ms()
    if last is not None and now - int(last) < API_KEY_EVERY_MS:
        return None
    return await track(
        state,
        user_id,
        "api_key",
        "completed",
        f"API key {key_id} used: {what}",
        resource_type="api_key",
        resource_id=key_id,
        metadata={"key_id": key_id, "what": what[:200]},
        request=request,
        created_at=now,
    )
