"""Routes of the real-time part: WebSocket, SSE, operator endpoints and the /live page."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from hub.realtime import admin, page, sse
from hub.realtime.ws import WebSocketApp

routes: list[BaseRoute] = [
    WebSocketRoute("/ws/notifications", WebSocketApp()),
    WebSocketRoute("/ws/notifications/{user_id}", WebSocketApp()),
    Route("/api/notifications/stream", sse.stream, methods=["GET"]),
    Route("/api/websocket/status", admin.status, methods=["GET"]),
    Route("/api/websocket/broadcast", admin.broadcast, methods=["POST"]),
    Route("/live", page.live_page, methods=["GET"]),
]
