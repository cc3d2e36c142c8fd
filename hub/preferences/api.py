"""Preference endpoints for the signed-in user, and the admin's defaults."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hub.activity.track import track as activity_track
from hub.auth import require_scope, require_user, require_user_id
from hub.db import Database
from hub.delivery.base import CHANNELS
from hub.errors import Invalid, from_pydantic, parse_json
from hub.preferences import store
from hub.preferences.models import (
    ANY_CATEGORY,
    DefaultIn,
    PreferencesPut,
    preference_json,
)
from hub.preferences.routing import FREQUENCIES, Preference, resolve
from hub.preferences.templates import templates
from hub.users import store as users

log = logging.getLogger("hub.preferences")


async def track(state: Any, user_id: str, resource: str, title: str, **kw: Any) -> None:
    """Record a settings change in the user's activity log."""
    try:
        await activity_track(
            state, user_id, "settings", "updated", title, resource_type=resource, **kw
        )
    except Exception:  # noqa: BLE001 - the change is saved; the log entry is best effort
        log.exception("could not record the %s change in the activity log", resource)


async def preferences_payload(db: Database, user_id: str) -> dict[str, Any]:
    return _payload(
        user_id,
        await store.user_rows(db, user_id),
        await store.default_rows(db),
        await store.known_categories(db, user_id),
        await users.get(db, user_id),
    )


def _payload(
    user_id: str,
    rows: dict[str, dict[str, Any]],
    default_rows: dict[str, dict[str, Any]],
    categories: set[str],
    profile: dict[str, Any] | None,
) -> dict[str, Any]:
    """The preferences answer from the user's rows, the admin's defaults, the user's
    known categories and profile."""
    defaults = {c: store.to_preference(r) for c, r in default_rows.items()}
    user_prefs = {c: store.to_preference(r, critical=False) for c, r in rows.items()}
    items = []
    for category in [ANY_CATEGORY, *sorted(categories)]:
        pref = resolve(category, user_prefs, defaults)
        if category in rows:
            source, row = "user", rows[category]
        elif ANY_CATEGORY in rows and category != ANY_CATEGORY:
            source, row = "user_default", rows[ANY_CATEGORY]
        elif category in default_rows or ANY_CATEGORY in default_rows:
            source, row = "default", None
        else:
            source, row = "builtin", None
        items.append(preference_json(category, pref, source, row))
    profile = profile or {}
    return {
        "user_id": user_id,
        "timezone": profile.get("timezone") or "UTC",
        "email_opt_out": bool(profile.get("email_opt_out")),
        "preferences": items,
        "channels": list(CHANNELS),
        "frequencies": list(FREQUENCIES),
    }


async def get_preferences(request: Request) -> JSONResponse:
    """
    summary: The signed-in user's effective preferences per category
    description: "'*' is the user's default for every category. `source` says where a
      value comes from: user, user_default ('*'), default (admin) or builtin."
    tags: [preferences]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: preferences}
    """
    user_id = await require_user_id(request)
    return JSONResponse(await preferences_payload(request.app.state.db, user_id))


def _parse_put(data: Any) -> PreferencesPut:
    if isinstance(data, list):
        data = {"preferences": data}
    try:
        return PreferencesPut.model_validate(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


async def put_preferences(request: Request) -> JSONResponse:
    """
    summary: Change preferences for some categories (all or nothing)
    description: "Body: a list of updates, or {preferences: [...], timezone?, replace?}.
      Fields left out of an update keep their current value; replace=true drops the
      user's existing rows first (applying a template)."
    tags: [preferences]
    security: [{userToken: []}, {session: []}]
    requestBody:
      content:
        application/json:
          example: [{"category": "billing", "delivery_methods": ["in_app", "email"],
                     "quiet_hours_start": "22:00", "quiet_hours_end": "07:00",
                     "frequency": "instant"}]
    responses:
      200: {description: the preferences after the change}
      422: {description: "unknown category, method or frequency, bad time or time zone;
        nothing saved"}
    """
    user_id = await require_user_id(request)
    db = request.app.state.db
    body = _parse_put(await parse_json(request))
    known = await store.known_categories(db, user_id)
    for i, update in enumerate(body.preferences):
        if update.category != ANY_CATEGORY and update.category not in known:
            raise Invalid.field(
                f"preferences.{i}.category", f"unknown category {update.category!r}"
            )
        problem = update.quiet_hours_problem()
        if problem:
            raise Invalid.field(f"preferences.{i}.{problem[0]}", problem[1])
    async with db.transaction():
        if body.replace:
            await store.reset_user(db, user_id)
            rows: dict[str, dict[str, Any]] = {}
        else:
            rows = await store.user_rows(db, user_id)
        user_prefs = {c: store.to_preference(r, critical=False) for c, r in rows.items()}
        default_rows = await store.default_rows(db)
        defaults = {c: store.to_preference(r) for c, r in default_rows.items()}
        changed: dict[str, Preference] = {}
        for update in body.preferences:
            current = changed.get(update.category) or resolve(update.category, user_prefs, defaults)
            new = update.apply(current)
            changed[update.category] = Preference(**{**new.__dict__, "critical": False})
        rows.update(await store.save_user(db, user_id, changed))
        profile = (
            await users.upsert(db, user_id, {"timezone": body.timezone})
            if body.timezone is not None
            else await users.get(db, user_id)
        )
    if body.replace:
        # a category known only from a row that replace dropped is no longer known
        known = await store.known_categories(db, user_id)
    await track(
        request.app.state,
        user_id,
        "notification_preferences",
        "Notification preferences changed",
        request=request,
        metadata={"categories": sorted(changed), "timezone": body.timezone},
    )
    return JSONResponse(_payload(user_id, rows, default_rows, known, profile))


async def reset_preferences(request: Request) -> JSONResponse:
    """
    summary: Drop the user's own preferences; the admin defaults apply again
    tags: [preferences]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: the preferences after the reset}
    """
    user_id = await require_user_id(request)
    db = request.app.state.db
    removed = await store.reset_user(db, user_id)
    await track(
        request.app.state,
        user_id,
        "notification_preferences",
        "Notification preferences reset",
        request=request,
        metadata={"removed": removed},
    )
    return JSONResponse(await preferences_payload(db, user_id))


async def get_templates(request: Request) -> JSONResponse:
    """
    summary: Ready-made preference sets; PUT a template's body to apply it
    tags: [preferences]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: templates}
    """
    await require_user(request)
    defaults = await store.defaults(request.app.state.db)
    return JSONResponse({"templates": templates(defaults)})


def _default_json(category: str, row: dict[str, Any]) -> dict[str, Any]:
    pref = store.to_preference(row)
    return preference_json(category, pref, "default", row)


async def get_defaults(request: Request) -> JSONResponse:
    """
    summary: The admin's default preferences per category ('*' for all)
    tags: [preferences]
    security: [{apiKey: [admin]}]
    responses:
      200: {description: defaults}
    """
    await require_scope(request, "admin")
    rows = await store.default_rows(request.app.state.db)
    return JSONResponse({"defaults": [_default_json(c, r) for c, r in rows.items()]})


async def post_defaults(request: Request) -> JSONResponse:
    """
    summary: Set default preferences per category, and which categories are critical
    description: "Body: a list of defaults (or {defaults: [...]}); each replaces the
      category's default. critical=true makes the category skip quiet hours and digests."
    tags: [preferences]
    security: [{apiKey: [admin]}]
    requestBody:
      content:
        application/json:
          example: [{"category": "security", "delivery_methods": ["in_app", "email", "push"],
                     "critical": true}]
    responses:
      200: {description: all defaults after the change}
      422: {description: invalid field; nothing saved}
    """
    await require_scope(request, "admin")
    data = await parse_json(request)
    if isinstance(data, dict) and "defaults" in data:
        data = data["defaults"]
    if not isinstance(data, list):
        raise Invalid.field("defaults", "a list of defaults")
    try:
        items = TypeAdapter(list[DefaultIn]).validate_python(data)
    except PydanticValidationError as exc:
        err = from_pydantic(exc)
        raise Invalid(
            f"defaults.{err.message}", fields={f"defaults.{k}": v for k, v in err.fields.items()}
        ) from None
    for i, item in enumerate(items):
        problem = item.quiet_hours_problem()
        if problem:
            raise Invalid.field(f"defaults.{i}.{problem[0]}", problem[1])
    db = request.app.state.db
    async with db.transaction():
        for item in items:
            await store.save_default(db, item.category, item.preference())
    rows = await store.default_rows(db)
    return JSONResponse({"defaults": [_default_json(c, r) for c, r in rows.items()]})


routes: list[BaseRoute] = [
    Route("/api/notifications/preferences", get_preferences, methods=["GET"]),
    Route("/api/notifications/preferences", put_preferences, methods=["PUT"]),
    Route("/api/notifications/preferences/reset", reset_preferences, methods=["POST"]),
    Route("/api/notifications/preferences/templates", get_templates, methods=["GET"]),
    Route("/api/notifications/preferences/defaults", get_defaults, methods=["GET"]),
    Route("/api/notifications/preferences/defaults", post_defaults, methods=["POST"]),
]
