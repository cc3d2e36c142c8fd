"""State changes by the signed-in user: read, archive, delete, and click tracking.

A single id that is not the caller's answers 404; bulk endpoints ignore ids
that are not the caller's and report how many changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.auth import require_user_id
from hub.errors import NotFound, Unauthorized, parse_body
from hub.notifications import service, store
from hub.notifications.center_api import path_id
from hub.notifications.filters import IdsIn
from hub.notifications.models import check_link, to_json

CENTER_PAGE = "/notifications"

# service.mark_read, delete, archive, unarchive: (state, user_id, ids) -> ids changed
Change = Callable[[Any, str, list[int]], Awaitable[list[int]]]


async def _on_ids(request: Request, change: Change) -> JSONResponse:
    """Apply `change` to the caller's notifications named in the body's {ids}."""
    user_id = await require_user_id(request)
    body = await parse_body(request, IdsIn)
    ids = await change(request.app.state, user_id, body.ids)
    return JSONResponse({"changed": len(ids), "ids": ids})


async def read_one(request: Request) -> Response:
    """
    summary: Mark one notification read
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{notification}; already read is fine"}
      404: {description: no such notification of this user}
    """
    user_id = await require_user_id(request)
    nid = path_id(request)
    await service.mark_read(request.app.state, user_id, [nid])
    row = await store.get_for_user(request.app.state.db, user_id, nid)
    if row is None:
        raise NotFound("no such notification")
    return JSONResponse({"notification": to_json(row)})


async def read_all(request: Request) -> Response:
    """
    summary: Mark every unread notification of the user read
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{changed}"}
    """
    user_id = await require_user_id(request)
    ids = await service.mark_read(request.app.state, user_id, None)
    return JSONResponse({"changed": len(ids)})


async def bulk_read(request: Request) -> Response:
    """
    summary: Mark the given notifications read ({ids}, at most 1000)
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{changed, ids}: the ids that changed"}
      422: {description: ids missing or not a list of positive integers}
    """
    return await _on_ids(request, service.mark_read)


async def delete_one(request: Request) -> Response:
    """
    summary: Delete one notification
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{deleted: 1}"}
      404: {description: no such notification of this user}
    """
    user_id = await require_user_id(request)
    ids = await service.delete(request.app.state, user_id, [path_id(request)])
    if not ids:
        raise NotFound("no such notification")
    return JSONResponse({"deleted": 1})


async def delete_all(request: Request) -> Response:
    """
    summary: Delete all of the user's notifications
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{deleted}"}
    """
    user_id = await require_user_id(request)
    ids = await service.delete(request.app.state, user_id, None)
    return JSONResponse({"deleted": len(ids)})


async def bulk_delete(request: Request) -> Response:
    """
    summary: Delete the given notifications ({ids}, at most 1000)
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{changed, ids}: the ids deleted"}
      422: {description: ids missing or not a list of positive integers}
    """
    return await _on_ids(request, service.delete)


async def archive(request: Request) -> Response:
    """
    summary: Archive the given notifications ({ids}); archived ones leave the default view
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{changed, ids}"}
      422: {description: ids missing or not a list of positive integers}
    """
    return await _on_ids(request, service.archive)


async def unarchive(request: Request) -> Response:
    """
    summary: Move the given notifications ({ids}) back out of the archive
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{changed, ids}"}
      422: {description: ids missing or not a list of positive integers}
    """
    return await _on_ids(request, service.unarchive)


def redirect_target(link: str | None) -> str:
    """Where a click goes: the notification's own stored link, re-checked (pure)."""
    try:
        return check_link(link) or CENTER_PAGE
    except ValueError:
        return CENTER_PAGE


async def click(request: Request) -> Response:
    """
    summary: Click tracking - record the click, mark read, redirect to the notification's link
    description: >
      Redirects only to the link stored with the notification (or to
      /notifications when it has none); nothing in the request chooses the target.
      A browser that is not signed in (Accept text/html) is sent to sign in
      first and comes back here.
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      302: {description: to the notification's link}
      303: {description: "not signed in (browser): to /login?next=/r/ID"}
      401: {description: not signed in}
      404: {description: no such notification of this user}
    """
    nid = path_id(request)
    try:
        user_id = await require_user_id(request)
    except Unauthorized:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return RedirectResponse(f"/login?next=/r/{nid}", status_code=303)
    row = await service.click(request.app.state, user_id, nid)
    if row is None:
        raise NotFound("no such notification")
    return RedirectResponse(
        redirect_target(row.get("link")), status_code=302, headers={"Cache-Control": "no-store"}
    )


routes: list[BaseRoute] = [
    Route("/api/notifications", delete_all, methods=["DELETE"]),
    Route("/api/notifications/read-all", read_all, methods=["POST"]),
    Route("/api/notifications/bulk-read", bulk_read, methods=["POST"]),
    Route("/api/notifications/bulk-delete", bulk_delete, methods=["POST"]),
    Route("/api/notifications/archive", archive, methods=["POST"]),
    Route("/api/notifications/unarchive", unarchive, methods=["POST"]),
    Route("/api/notifications/{id:int}/read", read_one, methods=["POST"]),
    Route("/api/notifications/{id:int}", delete_one, methods=["DELETE"]),
    Route("/r/{id:int}", click, methods=["GET"]),
]
