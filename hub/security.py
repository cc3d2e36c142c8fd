"""Security headers on every HTTP response, as a pure ASGI middleware.

The pages load scripts and styles only from this origin, with no inline
<script>, no on* attributes and no inline style sheets, so the policy can
forbid all of them: an injected `<img onerror=...>` cannot run even if a
rendering bug let one through. `data:`/`blob:` images are allowed because
plotly's PNG export renders charts through them.

Pages that draw plotly charts also allow inline style *attributes*
(`style-src-attr`), which plotly sets on its SVG; <style> elements stay
forbidden there too (plotly's own rules are served as /vendor/plotly.css)
and scripts are as strict as everywhere else.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_DIRECTIVES = (
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
)
CSP = "; ".join(BASE_DIRECTIVES)
CHART_CSP = "; ".join((*BASE_DIRECTIVES, "style-src-elem 'self'", "style-src-attr 'unsafe-inline'"))
CHART_PAGES = ("/dashboards", "/admin/sql")


def csp_for(path: str) -> str:
    """The Content-Security-Policy for a response to `path`."""
    if any(path == p or path.startswith(p + "/") for p in CHART_PAGES):
        return CHART_CSP
    return CSP


HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


# every header this middleware adds, per policy, encoded once
_WANTED = {
    policy: ((b"content-security-policy", policy.encode()), *HEADERS) for policy in (CSP, CHART_CSP)
}
_NAMES = frozenset(name for name, _ in _WANTED[CSP])


def add_headers(headers: list[tuple[bytes, bytes]], path: str = "/") -> list[tuple[bytes, bytes]]:
    """`headers` plus the security headers a handler did not set itself."""
    wanted = _WANTED[csp_for(path)]
    present = {name.lower() for name, _ in headers}
    if present.isdisjoint(_NAMES):  # the usual case: the handler set none of them
        return headers + list(wanted)
    return headers + [(name, value) for name, value in wanted if name not in present]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = add_headers(list(message.get("headers", [])), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)
