"""The HubError family and the one JSON error shape.

Every error the API returns looks like
``{"error": {"code": "invalid", "message": "...", "fields": {"title": "..."}}}``
with a stable ``code`` that clients may switch on.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("hub.errors")
M = TypeVar("M", bound=BaseModel)


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        self.headers = headers

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str = "authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "not found", **kw: Any) -> None:
        super().__init__(message, **kw)


class Conflict(HubError):
    status = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    status = 413
    code = "too_large"


class Invalid(HubError):
    """422: the request was understood but a field is wrong."""

    status = 422
    code = "invalid"

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls(f"{name}: {message}", fields={name: message})


class Unavailable(HubError):
    status = 503
    code = "unavailable"


def from_pydantic(exc: PydanticValidationError) -> Invalid:
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ())) or "body"
        fields.setdefault(name, err.get("msg", "invalid"))
    first = next(iter(fields.items()))
    return Invalid(f"{first[0]}: {first[1]}", fields=fields)


async def parse_json(request: Request, max_bytes: int = 4 * 1024 * 1024) -> Any:
    """The request body as JSON, or a 4xx naming what was wrong."""
    body = await request.body()
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"request body over {max_bytes} bytes")
    if not body:
        raise Invalid.field("body", "a JSON body is required")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise Invalid.field("body", f"not valid JSON ({exc.msg})") from None
    except ValueError:
        raise Invalid.field("body", "not valid JSON") from None


async def parse_body(request: Request, model: type[M]) -> M:
    data = await parse_json(request)
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


def parse_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params))
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


def error_response(exc: HubError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=exc.headers)


async def hub_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(exc)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    err = HubError(
        str(exc.detail), code=codes.get(exc.status_code, "http_error"), status=exc.status_code
    )
    return error_response(err)


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(HubError("internal error", code="internal", status=500))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HubError: hub_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
