"""Notification center reads for the signed-in user: listing, counts, search,
export and the polling fallback. Every query is scoped to the caller."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.auth import require_user_id
from hub.errors import NotFound, parse_body, parse_query
from hub.notifications import center, cursor, export, filters, search, service
from hub.notifications.filters import MAX_ID
from hub.notifications.models import to_json


def path_id(request: Request) -> int:
    """The {id} of the path; one no row can have (beyond BIGINT) is simply not found."""
    nid = int(request.path_params["id"])
    if not 0 < nid <= MAX_ID:
        raise NotFound("no such notification")
    return nid


async def list_center(request: Request) -> Response:
    """
    summary: The signed-in user's notifications, filtered, sorted and paginated
    description: >
      Filters category, is_read, archived (true, false or all; default false),
      date_from, date_to (ISO 8601; a bare date_to includes that day).
      Paginate with skip/limit or, without gaps or repeats while new
      notifications arrive, by passing next_cursor back as cursor.
    tags: [center]
    security: [{userToken: []}, {session: []}]
    parameters:
      - {name: sort, in: query, schema: {type: string, enum: [newest, oldest, unread_first]}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 20}}
      - {name: cursor, in: query, schema: {type: string}}
    responses:
      200: {description: "{items, total, next_cursor}"}
      422: {description: invalid filter, limit or cursor}
    """
    user_id = await require_user_id(request)
    q = parse_query(request, filters.CenterQuery)
    secret = request.app.state.settings.secret_key
    after = cursor.decode(secret, q.cursor, q.sort) if q.cursor else None
    db = request.app.state.db
    rows, more = await center.page(db, user_id, q, after)
    next_cursor = cursor.encode(secret, cursor.after(rows[-1], q.sort)) if more and rows else None
    return JSONResponse(
        {
            "items": [to_json(r) for r in rows],
            "total": await center.total(db, user_id, q),
            "next_cursor": next_cursor,
            "sort": q.sort,
            "skip": q.skip,
            "limit": q.limit,
        }
    )


async def list_categories(request: Request) -> Response:
    """
    summary: The user's categories with total and unread counts
    tags: [center]
    security: [{userToken: []}, {session: []}]
    parameters:
      - {name: archived, in: query, schema: {type: string, enum: ["true", "false", all]}}
    responses:
      200: {description: "{categories: [{category, total, unread}]}"}
    """
    user_id = await require_user_id(request)
    f = parse_query(request, filters.FilterQuery)
    rows = await center.categories(request.app.state.db, user_id, f.archived)
    return JSONResponse({"categories": rows})


async def get_unread_count(request: Request) -> Response:
    """
    summary: How many of the user's notifications are unread (archived ones excluded)
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{count}"}
    """
    user_id = await require_user_id(request)
    return JSONResponse({"count": await service.unread_count(request.app.state, user_id)})


async def search_notifications(request: Request) -> Response:
    """
    summary: Ranked full-text search over title and body, prefix-aware
    description: >
      Every word of query must match, as a word or the start of one ("inv"
      finds "invoice"); title matches rank above body matches. Takes the
      center's filters (GET query string or POST JSON body) and skip/limit.
    tags: [center]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "{items (each with rank), total}"}
      422: {description: no searchable word in query, or a bad filter}
    """
    user_id = await require_user_id(request)
    if request.method == "POST":
        q = await parse_body(request, filters.SearchQuery)
    else:
        q = parse_query(request, filters.SearchQuery)
    rows, total = await search.search(request.app.state.db, user_id, q)
    items = [{**to_json(r), "rank": round(float(r["rank"]), 6)} for r in rows]
    return JSONResponse(
        {"items": items, "total": total, "query": q.query, "skip": q.skip, "limit": q.limit}
    )


async def export_notifications(request: Request) -> Response:
    """
    summary: Download the user's notifications as CSV or JSON (streamed)
    description: >
      Same filters as the center; archived defaults to all. CSV cells that
      start with = + - @ (or tab/CR) are prefixed with ' against formula injection.
    tags: [center]
    security: [{userToken: []}, {session: []}]
    parameters:
      - {name: format, in: query, schema: {type: string, enum: [csv, json], default: csv}}
    responses:
      200: {description: the file}
    """
    user_id = await require_user_id(request)
    q = parse_query(request, filters.ExportQuery)
    rows = center.export_rows(request.app.state.db, user_id, q)
    if q.format == "json":
        body, media = export.json_stream(rows), "application/json"
    else:
        body, media = export.csv_stream(rows), "text/csv; charset=utf-8"
    return StreamingResponse(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="notifications.{q.format}"',
            "Cache-Control": "no-store",
        },
    )


async def poll(request: Request) -> Response:
    """
    summary: Polling fallback - the user's notifications with id > since, oldest first
    tags: [center]
    security: [{userToken: []}, {session: []}]
    parameters:
      - {name: since, in: query, schema: {type: integer, default: 0}}
      - {name: limit, in: query, schema: {type: integer, maximum: 100, default: 50}}
    responses:
      200: {description: "{items, since}: pass since back on the next poll"}
    """
    user_id = await require_user_id(request)
    q = parse_query(request, filters.PollQuery)
    rows = await center.since(request.app.state.db, user_id, q.since, q.limit)
    return JSONResponse(
        {
            "items": [to_json(r) for r in rows],
            "since": rows[-1]["id"] if rows else q.since,
            "unread_count": await service.unread_count(request.app.state, user_id),
        }
    )


routes: list[BaseRoute] = [
    Route("/api/notifications", poll, methods=["GET"]),
    Route("/api/notifications/center", list_center, methods=["GET"]),
    Route("/api/notifications/categories", list_categories, methods=["GET"]),
    Route("/api/notifications/unread-count", get_unread_count, methods=["GET"]),
    Route("/api/notifications/search", search_notifications, methods=["GET", "POST"]),
    Route("/api/notifications/export", export_notifications, methods=["GET"]),
]
