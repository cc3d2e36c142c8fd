"""Producer API (POST /api/notifications) and every notification route, collected."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hub.auth import require_scope
from hub.errors import parse_body
from hub.notifications import actions_api, center_api, service
from hub.notifications.models import NotificationIn, to_json

FULL_LIST_MAX = 100  # above this many recipients the response lists ids only

# JSONResponse's encoding, built once instead of per response (json.dumps makes a new
# encoder for every call with non-default options)
_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
).encode


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _encode(content).encode("utf-8")


async def create_notifications(request: Request) -> JSONResponse:
    """
    summary: Send a notification to one user or up to 10,000 users
    tags: [producer]
    security: [{apiKey: [notify]}]
    requestBody:
      content:
        application/json:
          example: {"user_id": "alice", "category": "billing", "title": "Paid",
                    "body": "Thanks", "link": "/billing", "idempotency_key": "pay-42"}
    responses:
      201: {description: created}
      200: {description: idempotent replay of an earlier request with the same key}
      422: {description: invalid field}
    """
    principal = await require_scope(request, "notify")
    payload = await parse_body(request, NotificationIn)
    header_key = request.headers.get("idempotency-key")
    if header_key and not payload.idempotency_key:
        payload.idempotency_key = header_key[:200]
    rows, replayed = await service.send(request.app.state, payload, principal.key_id, batch=True)
    body: dict = {"count": len(rows), "ids": [r["id"] for r in rows], "replayed": replayed}
    if len(rows) <= FULL_LIST_MAX:
        # the live message rendered these already (service.rendered)
        body["notifications"] = [service.rendered(r) or to_json(r) for r in rows]
    return _JSON(body, status_code=200 if replayed else 201)


routes: list[BaseRoute] = [
    Route("/api/notifications", create_notifications, methods=["POST"]),
    *center_api.routes,
    *actions_api.routes,
]
