"""End-user device registration for push: POST/GET /api/devices, DELETE /api/devices/{token}."""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.activity.track import track
from hub.auth import require_user_id
from hub.db import Row, ms_to_iso
from hub.devices import store
from hub.errors import Invalid, NotFound, parse_body

log = logging.getLogger("hub.devices")

_HEX = re.compile(r"^[0-9a-fA-F]+$")
# FCM registration tokens and web push tokens: URL-safe base64 plus ':' separators
_TOKEN = re.compile(r"^[A-Za-z0-9:_\-.]+$")


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Literal["ios", "android", "web"]
    token: str = Field(min_length=8, max_length=4096)
    app: str | None = Field(default=None, max_length=200)

    @field_validator("token")
    @classmethod
    def _token_chars(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError("letters, digits and : _ - . only")
        return value


def device_json(row: Row) -> dict[str, Any]:
    return {
        "token": row["token"],
        "platform": row["platform"],
        "app": row["app"],
        "created_at": ms_to_iso(row["created_at"]),
        "updated_at": ms_to_iso(row["updated_at"]),
    }


async def _track(request: Request, user_id: str, platform: str) -> None:
    try:
        await track(
            request.app.state,
            user_id,
            "settings",
            "created",
            "Device registered",
            resource_type="device",
            metadata={"platform": platform},
            request=request,
        )
    except Exception:  # an activity entry must never undo a registration
        log.exception("could not record the device activity (platform %s)", platform)


async def register_device(request: Request) -> JSONResponse:
    """
    summary: Register a push device for the signed-in user
    description: Registering a token another user holds moves it to you (a device changed hands).
    tags: [devices]
    security: [{userToken: []}]
    requestBody:
      content:
        application/json:
          example: {"platform": "ios", "token": "a1b2c3d4e5f60718", "app": "com.example.app"}
    responses:
      201: {description: the device}
      401: {description: not signed in}
      422: {description: invalid field (platform, token, app)}
    """
    user_id = await require_user_id(request)
    payload = await parse_body(request, DeviceIn)
    if payload.platform == "ios" and (not _HEX.match(payload.token) or len(payload.token) % 2):
        raise Invalid.field("token", "an APNs device token is an even number of hex digits")
    row = await store.register(
        request.app.state.db, user_id, payload.platform, payload.token, payload.app
    )
    await _track(request, user_id, payload.platform)
    return JSONResponse(device_json(row), status_code=201)


async def list_devices(request: Request) -> JSONResponse:
    """
    summary: List the signed-in user's push devices
    tags: [devices]
    security: [{userToken: []}]
    responses:
      200: {description: "{devices: [...]}"}
      401: {description: not signed in}
    """
    user_id = await require_user_id(request)
    rows = await store.list_for_user(request.app.state.db, user_id)
    return JSONResponse({"devices": [device_json(r) for r in rows]})


async def delete_device(request: Request) -> Response:
    """
    summary: Remove one of the signed-in user's push devices
    tags: [devices]
    security: [{userToken: []}]
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: removed}
      401: {description: not signed in}
      404: {description: no such device for this user}
    """
    user_id = await require_user_id(request)
    token = request.path_params["token"]
    if not await store.remove(request.app.state.db, user_id, token):
        raise NotFound("no such device")
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/api/devices", register_device, methods=["POST"]),
    Route("/api/devices", list_devices, methods=["GET"]),
    Route("/api/devices/{token}", delete_device, methods=["DELETE"]),
]
