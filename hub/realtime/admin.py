"""Operator endpoints: fan-out status and admin broadcasts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.auth import require_scope
from hub.errors import Invalid, Unavailable, parse_body
from hub.realtime import wire

MAX_MESSAGE_BYTES = 16 * 1024


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(default=wire.BROADCAST, max_length=250)
    message: dict[str, Any]

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        why = wire.check_publish_channel(v)
        if why is not None:
            raise ValueError(why)
        return v

    @field_validator("message")
    @classmethod
    def _message(cls, v: dict[str, Any]) -> dict[str, Any]:
        v = {"type": "broadcast", **v}
        if not isinstance(v["type"], str) or not 0 < len(v["type"]) <= 100:
            raise ValueError("type must be a string of 1-100 characters")
        if len(wire.dumps(v).encode()) > MAX_MESSAGE_BYTES:
            raise ValueError(f"at most {MAX_MESSAGE_BYTES} bytes as JSON")
        return v


def _fanout(request: Request) -> Any:
    fanout = getattr(request.app.state, "fanout", None)
    if fanout is None:
        raise Unavailable("live updates are not running")
    return fanout


async def status(request: Request) -> JSONResponse:
    """
    summary: Live connections of this process and of the whole cluster
    tags: [realtime]
    security: [{apiKey: [admin]}]
    responses:
      200:
        description: "per process and cluster: connections, users, sent, dropped slow clients"
      401: {description: no API key}
      403: {description: not an admin key}
    """
    await require_scope(request, "admin")
    return JSONResponse(await _fanout(request).status())


async def broadcast(request: Request) -> JSONResponse:
    """
    summary: Send a message to every live client, or to one channel
    tags: [realtime]
    security: [{apiKey: [admin]}]
    requestBody:
      content:
        application/json:
          example: {"channel": "broadcast",
                    "message": {"type": "broadcast", "text": "Maintenance at 18:00"}}
    responses:
      202: {description: published}
      422: {description: invalid channel or message}
    """
    await require_scope(request, "admin")
    body = await parse_body(request, BroadcastIn)
    fanout = _fanout(request)
    try:
        await fanout.publish_channel(body.channel, body.message)
    except ValueError as exc:  # pragma: no cover - the model validated the channel
        raise Invalid.field("channel", str(exc)) from None
    return JSONResponse({"channel": body.channel, "published": True}, status_code=202)
