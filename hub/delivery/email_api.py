"""Email endpoints: test email, email settings, one-click unsubscribe, bounce webhook."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.events import Event, record
from hub.auth import require_scope, require_user_id
from hub.db import now_ms
from hub.delivery import suppressions
from hub.delivery.base import Delivery
from hub.delivery.unsubscribe import read_token
from hub.errors import BadRequest, Invalid, Unavailable, parse_body
from hub.preferences import store as prefstore
from hub.preferences.api import track
from hub.preferences.routing import Preference, resolve
from hub.users import store as users
from hub.users.models import check_email


class EmailSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_opt_out: bool | None = None
    digest_hour: int | None = Field(default=None, ge=0, le=23)


class BounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    reason: str = Field(default="bounce webhook", max_length=300)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return check_email(v)


async def email_settings(state: Any, user_id: str) -> dict[str, Any]:
    db = state.db
    profile = await users.get(db, user_id) or {}
    email = profile.get("email")
    bounced = bool(email and await suppressions.suppressed_addresses(db, [email]))
    return {
        "email": email,
        "email_opt_out": bool(profile.get("email_opt_out")),
        "digest_hour": (
            profile["digest_hour"]
            if profile.get("digest_hour") is not None
            else state.settings.digest_hour
        ),
        "timezone": profile.get("timezone") or "UTC",
        "bounced": bounced,
    }


async def get_email_preferences(request: Request) -> JSONResponse:
    """
    summary: The signed-in user's email settings (address, opt-out, digest hour, bounced)
    tags: [email]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: email settings}
    """
    user_id = await require_user_id(request)
    return JSONResponse(await email_settings(request.app.state, user_id))


async def put_email_preferences(request: Request) -> JSONResponse:
    """
    summary: Change the global email opt-out and the local hour digests go out
    tags: [email]
    security: [{userToken: []}, {session: []}]
    requestBody:
      content:
        application/json:
          example: {"email_opt_out": false, "digest_hour": 8}
    responses:
      200: {description: email settings after the change}
      422: {description: invalid field}
    """
    user_id = await require_user_id(request)
    body = await parse_body(request, EmailSettingsIn)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    if "email_opt_out" in changes and changes["email_opt_out"] is None:
        raise Invalid.field("email_opt_out", "true or false")
    if changes:
        await users.upsert(request.app.state.db, user_id, changes)
        await track(
            request.app.state,
            user_id,
            "email_settings",
            "Email settings changed",
            metadata=changes,
            request=request,
        )
    return JSONResponse(await email_settings(request.app.state, user_id))


async def send_test_email(request: Request) -> JSONResponse:
    """
    summary: Send a test email to the signed-in user's address, now
    tags: [email]
    security: [{userToken: []}, {session: []}]
    responses:
      200: {description: "the send result: outcome sent, or an error code"}
      422: {description: the user has no email address}
      503: {description: no email transport is configured}
    """
    user_id = await require_user_id(request)
    state = request.app.state
    profile = await users.get(state.db, user_id) or {}
    if not profile.get("email"):
        raise Invalid.field("email", "no email address is on file for this user")
    sender = (getattr(state, "senders", None) or {}).get("email")
    if sender is None:
        raise Unavailable("no email transport is configured (HUB_EMAIL_URL)")
    result = await sender.send(
        Delivery(
            id=0,
            notification_id=0,
            user_id=user_id,
            channel="email",
            attempts=0,
            category="test",
            title="Test email from hub",
            body="Email delivery works. You can change what reaches you in your preferences.",
            link="/preferences",
            address=profile["email"],
        )
    )
    return JSONResponse(
        {
            "outcome": result.outcome,
            "error_code": result.error_code,
            "error": result.error,
            "to": profile["email"],
        }
    )


async def _token(request: Request) -> str:
    token = request.query_params.get("token")
    if not token and request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("token")
            token = value if isinstance(value, str) else None
    if not token:
        raise BadRequest("the unsubscribe token is missing", code="invalid_token")
    return token


async def unsubscribe(request: Request) -> Response:
    """
    summary: One-click unsubscribe (RFC 8058) with the signed token from the email
    description: "No login: the token (query ?token= or form field) names the user and
      the category ('*' = all email). A category token removes email from that
      category; '*' sets the global email opt-out."
    tags: [email]
    responses:
      200: {description: unsubscribed}
      400: {description: missing, forged or expired token}
    """
    state = request.app.state
    token = await _token(request)
    try:
        user_id, category = read_token(state.settings.secret_key, token)
    except ValueError as exc:
        raise BadRequest(f"unsubscribe token {exc}", code="invalid_token") from None
    db = state.db
    now = now_ms()
    async with db.transaction():
        if category == "*":
            await users.upsert(db, user_id, {"email_opt_out": True})
        else:
            rows = await prefstore.user_rows(db, user_id)
            current = resolve(
                category,
                {c: prefstore.to_preference(r, critical=False) for c, r in rows.items()},
                await prefstore.defaults(db),
            )
            methods = tuple(m for m in current.delivery_methods if m != "email")
            await prefstore.save_user(
                db,
                user_id,
                {category: Preference(**{**current.__dict__, "delivery_methods": methods})},
            )
        await record(
            db,
            [
                Event(
                    "unsubscribed",
                    user_id=user_id,
                    category=None if category == "*" else category,
                    channel="email",
                    event_time=now,
                    metadata={"scope": "all" if category == "*" else "category"},
                )
            ],
        )
    await track(
        state,
        user_id,
        "email_settings",
        "Unsubscribed from email" + ("" if category == "*" else f" ({category})"),
        metadata={"category": category},
    )
    return JSONResponse({"unsubscribed": True, "user_id": user_id, "category": category})


async def unsubscribe_page(request: Request) -> Response:
    """
    summary: A confirmation page for the unsubscribe link (GET never changes anything)
    tags: [email]
    responses:
      200: {description: an HTML page with a button that POSTs the token}
    """
    from html import escape

    token = escape(request.query_params.get("token", ""), quote=True)
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Unsubscribe</title>"
        "<body style='font-family:sans-serif;max-width:30em;margin:4em auto'>"
        "<h1>Unsubscribe</h1><p>Stop these emails?</p>"
        "<form method=post action='/api/notifications/email/unsubscribe'>"
        f'<input type=hidden name=token value="{token}">'
        "<button type=submit>Unsubscribe</button></form></body>"
    )


async def bounces(request: Request) -> JSONResponse:
    """
    summary: Bounce webhook - mark an address bounced; no email is sent to it again
    tags: [email]
    security: [{apiKey: [admin]}]
    requestBody:
      content:
        application/json:
          example: {"email": "gone@example.com", "reason": "550 mailbox unavailable"}
    responses:
      200: {description: the address is suppressed}
      422: {description: invalid email}
    """
    await require_scope(request, "admin")
    body = await parse_body(request, BounceIn)
    db = request.app.state.db
    now = now_ms()
    address = body.email.lower()
    async with db.transaction():
        await suppressions.suppress(db, address, body.reason, now)
        owners = await db.fetch_all(
            "SELECT user_id FROM user_profiles WHERE lower(email) = :a", {"a": address}
        )
        await record(
            db,
            [
                Event(
                    "bounced",
                    user_id=o["user_id"],
                    channel="email",
                    error_code="bounce_webhook",
                    event_time=now,
                )
                for o in owners
            ],
        )
    return JSONResponse({"email": address, "suppressed": True, "users": len(owners)})


routes: list[BaseRoute] = [
    Route("/api/notifications/email/test", send_test_email, methods=["POST"]),
    Route("/api/notifications/email/preferences", get_email_preferences, methods=["GET"]),
    Route("/api/notifications/email/preferences", put_email_preferences, methods=["PUT"]),
    Route("/api/notifications/email/unsubscribe", unsubscribe, methods=["POST"]),
    Route("/api/notifications/email/unsubscribe", unsubscribe_page, methods=["GET"]),
    Route("/api/notifications/email/bounces", bounces, methods=["POST"]),
]
