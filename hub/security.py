"""Security headers on every HTTP response, as a pure ASGI middleware.

The pages load scripts and styles only from this origin, with no inline
<script>, no on* attributes and no inline style sheets, so the policy can
forbid all of them: an injected `<img onerror=...>` cannot run even if a
rendering bug let one through. `data:`/`blob:` images are allowed because
plotly's PNG export renders charts through them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def add_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` plus the security headers a handler did not set itself."""
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in HEADERS if name not in present]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = add_headers(list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, send_with_headers)
