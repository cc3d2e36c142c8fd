"""Activity endpoints: producers post activities; users read, search and export their feed."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import BaseRoute, Route

from hub.activity import export, service, store
from hub.activity.models import (
    ActivityIn,
    BatchIn,
    ExportIn,
    Filters,
    ListQuery,
    check_resource_id,
    check_type,
    to_json,
)
from hub.activity.summary import since, summarize
from hub.auth import require_scope, require_user_id
from hub.db import ms_to_iso, now_ms
from hub.errors import Invalid, NotFound, from_pydantic, parse_body, parse_json, parse_query
from hub.notifications.filters import iso_bound_ms

MAX_TERMS = store.MAX_TERMS
FULL_LIST_MAX = 100  # a larger batch's answer lists ids only, as for notifications


def parse_date(name: str, value: str, *, end: bool) -> int:
    """ISO date or datetime → epoch ms. A bare date as `date_to` includes that whole day."""
    try:
        return iso_bound_ms(value, end=end)
    except ValueError:
        raise Invalid.field(name, "expected an ISO 8601 date or datetime") from None


def where_for(user_id: str, f: Filters, prefix: str = "") -> store.Where:
    """The filters of a request as a WHERE for `user_id`; 422 names the field."""
    date_from = parse_date(prefix + "date_from", f.date_from, end=False) if f.date_from else None
    date_to = parse_date(prefix + "date_to", f.date_to, end=True) if f.date_to else None
    if date_from is not None and date_to is not None and date_from >= date_to:
        raise Invalid.field(prefix + "date_to", "must be after date_from")
    terms = (f.q or "").split()
    if len(terms) > MAX_TERMS:
        raise Invalid.field(prefix + "q", f"at most {MAX_TERMS} words")
    return store.Where(
        user_id=user_id,
        activity_types=f.activity_type.split(",") if f.activity_type else [],
        resource_types=f.resource_type.split(",") if f.resource_type else [],
        status=f.status,
        date_from=date_from,
        date_to=date_to,
        terms=terms,
    )


async def _page(request: Request, where: store.Where, query: ListQuery) -> JSONResponse:
    cursor = None
    if query.cursor:
        if query.skip:
            raise Invalid.field("skip", "use either cursor or skip, not both")
        try:
            cursor = store.decode_cursor(query.cursor)
        except ValueError:
            raise Invalid.field("cursor", "not a cursor returned by this API") from None
    page = await store.list_page(
        request.app.state.db, where, cursor=cursor, skip=query.skip, limit=query.limit
    )
    return JSONResponse(
        {
            "items": [to_json(r) for r in page.items],
            "total": page.total,
            "next_cursor": page.next_cursor,
            "limit": query.limit,
            "skip": query.skip,
        }
    )


async def create_activities(request: Request) -> JSONResponse:
    """
    summary: 'Record one activity, or a batch of up to 1,000 as {"activities": [...]}'
    tags: [producer, activity]
    security: [{apiKey: [activity]}]
    requestBody:
      content:
        application/json:
          example: {"user_id": "alice", "activity_type": "payment", "action": "completed",
                    "title": "Paid invoice 42", "resource_type": "invoice", "resource_id": "42",
                    "metadata": {"amount": 1200}, "idempotency_key": "pay-42"}
    responses:
      201: {description: "created; a batch answers 201 when any item is new, and lists the
        activities themselves only up to 100 items (ids always)"}
      200: {description: idempotent replay of earlier activities with the same keys}
      422: {description: invalid field, e.g. activities.3.title}
    """
    principal = await require_scope(request, "activity")
    data = await parse_json(request)
    header_key = (request.headers.get("idempotency-key") or "")[:200] or None
    if not isinstance(data, dict):
        raise Invalid.field("body", "expected an activity object or {activities: [...]}")
    try:
        if "activities" in data:
            items = BatchIn.model_validate(data).activities
            batch_key = header_key
        else:
            single = ActivityIn.model_validate(data)
            if header_key and not single.idempotency_key:
                single.idempotency_key = header_key
            items, batch_key = [single], None
    except ValidationError as exc:
        raise from_pydantic(exc) from None
    activities, replayed = await service.record(
        request.app.state, items, principal.key_id, batch_key
    )
    status = 200 if all(replayed) else 201
    if "activities" not in data:
        # no activity: a replay whose activity was erased since (the user was deleted)
        activity = activities[0] if activities else None
        return JSONResponse(
            {"activity": activity, "replayed": not activities or replayed[0]}, status
        )
    body: dict[str, Any] = {
        "count": len(activities),
        "created": replayed.count(False),
        "replayed": replayed.count(True),
        "ids": [a["id"] for a in activities],
    }
    if len(activities) <= FULL_LIST_MAX:
        body["activities"] = activities
    return JSONResponse(body, status_code=status)


async def list_activities(request: Request) -> JSONResponse:
    """
    summary: The signed-in user's activity feed, newest first
    description: >
      Filters activity_type and resource_type (comma-separated for several), status,
      date_from (inclusive) / date_to (exclusive; a bare date includes that day), and q
      (every word must appear in title or description). Page with next_cursor (stable while
      new activities arrive) or skip; limit 1-100 (default 20).
    tags: [activity]
    security: [{userToken: []}]
    responses:
      200: {description: "{items, total, next_cursor, limit, skip}"}
      422: {description: invalid filter, named in error.fields}
    """
    user_id = await require_user_id(request)
    query = parse_query(request, ListQuery)
    return await _page(request, where_for(user_id, query), query)


async def get_activity(request: Request) -> JSONResponse:
    """
    summary: One activity of the signed-in user
    tags: [activity]
    security: [{userToken: []}]
    responses:
      200: {description: the activity}
      404: {description: no such activity for this user}
    """
    user_id = await require_user_id(request)
    raw_id = request.path_params["activity_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise NotFound("activity not found")
    row = await store.get_for_user(request.app.state.db, user_id, int(raw_id))
    if row is None:
        raise NotFound("activity not found")
    return JSONResponse(to_json(row))


async def resource_activities(request: Request) -> JSONResponse:
    """
    summary: The signed-in user's activities about one resource, newest first
    tags: [activity]
    security: [{userToken: []}]
    responses:
      200: {description: "{items, total, next_cursor, limit, skip}"}
      422: {description: invalid resource type or filter}
    """
    user_id = await require_user_id(request)
    query = parse_query(request, ListQuery)
    rtype = request.path_params["resource_type"]
    rid = request.path_params["resource_id"]
    for name, value, check in (
        ("resource_type", rtype, check_type),
        ("resource_id", rid, check_resource_id),
    ):
        try:
            check(value)
        except ValueError as exc:
            raise Invalid.field(name, str(exc)) from None
    where = where_for(user_id, query)
    where.resource_types = [rtype]
    where.resource_id = rid
    return await _page(request, where, query)


async def summary_overview(request: Request) -> JSONResponse:
    """
    summary: Counts of the signed-in user's activities by type and status
    description: All time and over the rolling last 7 and 30 days.
    tags: [activity]
    security: [{userToken: []}]
    responses:
      200: {description: "{all_time, last_7_days, last_30_days: {total, by_type, by_status}}"}
    """
    user_id = await require_user_id(request)
    now = now_ms()
    start = since(now)
    groups = await store.counts(
        request.app.state.db, user_id, start["last_7_days"], start["last_30_days"]
    )
    body: dict[str, Any] = summarize(groups)
    body["generated_at"] = ms_to_iso(now)
    return JSONResponse(body)


async def export_activities(request: Request) -> StreamingResponse:
    """
    summary: Download the signed-in user's activities as JSON or CSV (streamed)
    description: >
      Body {format: json|csv, filters: {activity_type, resource_type, status, date_from,
      date_to, q}}. CSV cells that a spreadsheet would run as a formula (starting with
      = + - @ tab or CR) get a leading apostrophe.
    tags: [activity]
    security: [{userToken: []}]
    requestBody:
      content:
        application/json:
          example: {"format": "csv", "filters": {"activity_type": "payment"}}
    responses:
      200: {description: a JSON array or a CSV file with a header row}
      422: {description: invalid format or filter (e.g. filters.status)}
    """
    user_id = await require_user_id(request)
    body = await parse_body(request, ExportIn)
    where = where_for(user_id, body.filters, prefix="filters.")
    rows = store.iterate(request.app.state.db, where)
    stamp = (ms_to_iso(now_ms()) or "")[:10]
    if body.format == "csv":
        chunks, media = export.as_csv(rows), "text/csv; charset=utf-8"
    else:
        chunks, media = export.as_json(rows), "application/json"
    filename = f"activities-{stamp}.{body.format}"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


routes: list[BaseRoute] = [
    Route("/api/activities", create_activities, methods=["POST"]),
    Route("/api/activities", list_activities, methods=["GET"]),
    Route("/api/activities/export", export_activities, methods=["POST"]),
    Route("/api/activities/summary/overview", summary_overview, methods=["GET"]),
    Route(
        "/api/activities/resource/{resource_type}/{resource_id:path}",
        resource_activities,
        methods=["GET"],
    ),
    Route("/api/activities/{activity_id}", get_activity, methods=["GET"]),
]
