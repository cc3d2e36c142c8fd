"""Producer API for user profiles: PUT/GET/DELETE /api/users/{user_id}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hub.auth import require_scope
from hub.errors import NotFound, parse_body
from hub.users import store
from hub.users.models import ProfileIn, profile_json, valid_user_id


def _user_id(request: Request) -> str:
    user_id = request.path_params["user_id"]
    if not valid_user_id(user_id):
        raise NotFound("no such user")
    return user_id


async def put_user(request: Request) -> JSONResponse:
    """
    summary: Create or update a user's profile (fields present are set, null clears)
    tags: [users]
    security: [{apiKey: [notify]}]
    requestBody:
      content:
        application/json:
          example: {"email": "alice@example.com", "phone": "+14155550100",
                    "timezone": "Europe/Berlin", "locale": "de-DE",
                    "webhook_url": "https://example.com/hook", "chat_url": "slack://T/B/C"}
    responses:
      200: {description: the profile}
      422: {description: invalid email, phone, timezone, locale or URL}
    """
    await require_scope(request, "notify")
    user_id = _user_id(request)
    payload = await parse_body(request, ProfileIn)
    row = await store.upsert(request.app.state.db, user_id, payload.changes())
    return JSONResponse(profile_json(row))


async def get_user(request: Request) -> JSONResponse:
    """
    summary: A user's profile
    tags: [users]
    security: [{apiKey: [notify]}]
    responses:
      200: {description: the profile}
      404: {description: no profile for this user}
    """
    await require_scope(request, "notify")
    row = await store.get(request.app.state.db, _user_id(request))
    if row is None:
        raise NotFound("no such user")
    return JSONResponse(profile_json(row))


async def delete_user(request: Request) -> JSONResponse:
    """
    summary: Erase a user - profile, notifications, preferences, deliveries, devices, activity
    description: Deletes the user's rows from every table with a user_id column in one
      transaction. The analytics outbox keeps its events (ids only).
    tags: [users]
    security: [{apiKey: [notify]}]
    responses:
      200: {description: "what was removed, per table"}
      404: {description: nothing is stored for this user}
    """
    await require_scope(request, "notify")
    removed = await store.erase(request.app.state.db, _user_id(request))
    if not removed:
        raise NotFound("no such user")
    return JSONResponse({"user_id": request.path_params["user_id"], "removed": removed})


routes: list[BaseRoute] = [
    Route("/api/users/{user_id}", put_user, methods=["PUT"]),
    Route("/api/users/{user_id}", get_user, methods=["GET"]),
    Route("/api/users/{user_id}", delete_user, methods=["DELETE"]),
]
