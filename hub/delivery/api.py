"""Admin view of the delivery queue (dead letters and retries), plus the email routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hub.auth import require_scope
from hub.db import now_ms
from hub.delivery import dead_letters, email_api
from hub.errors import Conflict, NotFound, parse_query

Status = Literal[
    "pending", "sending", "sent", "delivered", "failed", "bounced", "suppressed", "deferred"
]
Channel = Literal["email", "push", "sms", "webhook", "chat"]


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    channel: Channel | None = None
    user_id: str | None = Field(default=None, max_length=200)
    notification_id: int | None = None
    before_id: int | None = None
    limit: int = Field(default=100, ge=1, le=1000)


async def list_deliveries(request: Request) -> JSONResponse:
    """
    summary: Delivery rows, newest first (e.g. ?status=failed for the dead letters)
    tags: [deliveries]
    security: [{apiKey: [admin]}]
    parameters:
      - {name: status, in: query, schema: {type: string}}
      - {name: channel, in: query, schema: {type: string}}
      - {name: user_id, in: query, schema: {type: string}}
      - {name: notification_id, in: query, schema: {type: integer}}
      - {name: before_id, in: query, schema: {type: integer}, description: page by id}
      - {name: limit, in: query, schema: {type: integer, maximum: 1000}}
    responses:
      200: {description: "deliveries and next_before_id for the next page"}
      422: {description: invalid filter}
    """
    await require_scope(request, "admin")
    q = parse_query(request, DeliveryQuery)
    rows = await dead_letters.list_rows(
        request.app.state.db,
        status=q.status,
        channel=q.channel,
        user_id=q.user_id,
        notification_id=q.notification_id,
        before_id=q.before_id,
        limit=q.limit,
    )
    return JSONResponse(
        {
            "deliveries": [dead_letters.row_json(r) for r in rows],
            "next_before_id": rows[-1]["id"] if len(rows) == q.limit else None,
        }
    )


async def retry_delivery(request: Request) -> JSONResponse:
    """
    summary: Put a failed, bounced or suppressed delivery back in the queue
    tags: [deliveries]
    security: [{apiKey: [admin]}]
    responses:
      200: {description: the delivery, pending again}
      404: {description: no such delivery}
      409: {description: the delivery is not dead (pending, sending, sent, ...)}
    """
    await require_scope(request, "admin")
    delivery_id = request.path_params["delivery_id"]
    try:
        row = await dead_letters.retry(request.app.state.db, delivery_id, now_ms())
    except ValueError as exc:
        raise Conflict(
            f"delivery is {exc}; only failed, bounced or suppressed ones retry"
        ) from None
    if row is None:
        raise NotFound("no such delivery")
    return JSONResponse(dead_letters.row_json(row))


routes: list[BaseRoute] = [
    Route("/api/deliveries", list_deliveries, methods=["GET"]),
    Route("/api/deliveries/{delivery_id:int}/retry", retry_delivery, methods=["POST"]),
    *email_api.routes,
]
