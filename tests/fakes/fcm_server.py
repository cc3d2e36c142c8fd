"""A local FCM HTTP v1 API plus its OAuth2 token endpoint (aiohttp, plain HTTP on loopback).

- ``POST /token``: Google's service-account grant
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion`` = an
  RS256 JWT signed by the service account's key); answers an access token.
- ``POST /v1/projects/<id>/messages:send`` with ``Authorization: Bearer <that
  token>`` and ``{"message": {...}}``; answers ``{"name": ...}``, or Google's
  error JSON (404 ``UNREGISTERED`` for dead tokens).

The real pyfcm and google-auth talk to it: the service-account JSON's
``token_uri`` names the token endpoint, HUB_FCM_URL the API. Used by the tests
and by bench/push.py.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
CLIENT_EMAIL = "hub-push@hub-test-project.iam.gserviceaccount.com"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def make_service_account(path: Path, project_id: str, token_uri: str) -> Any:
    """Write a service-account JSON with a fresh RSA key; returns the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return key.public_key()


def error_body(status: int, error_code: str, message: str = "error") -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": STATUS_NAMES.get(status, "UNKNOWN"),
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": error_code,
                }
            ],
        }
    }


@dataclass
class FakeFCM:
    project_id: str
    public_key: Any = None  # of the service account; set once the JSON is written
    # token -> (status, FCM errorCode): e.g. {"gone": (404, "UNREGISTERED")}
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)  # message + headers
    rejected: list[str] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)  # access tokens handed out
    token_requests: int = 0
    record: bool = True
    count: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)  # (token, notification_id)
    duplicates: int = 0
    peers: set[Any] = field(default_factory=set)  # client (host, port) of each API connection
    _runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        return f"http://{host}:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != JWT_GRANT:
            self.rejected.append("grant_type")
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self.public_key,
                algorithms=["RS256"],
                # google-auth always names Google's endpoint as the audience
                audience=GOOGLE_TOKEN_AUDIENCE,
            )
        except jwt.InvalidTokenError as exc:
            self.rejected.append(f"assertion: {exc}")
            return web.json_response({"error": "invalid_grant"}, status=400)
        if claims.get("iss") != CLIENT_EMAIL or SCOPE not in str(claims.get("scope", "")):
            self.rejected.append("claims")
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = "ya29." + secrets.token_urlsafe(24)
        self.issued.add(token)
        return web.json_response(
            {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )

    @property
    def connections(self) -> int:
        """How many TCP connections the API calls came over (keep-alive reuses them)."""
        return len(self.peers)

    async def _send(self, request: web.Request) -> web.Response:
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            self.rejected.append("bearer")
            return web.json_response(error_body(401, "THIRD_PARTY_AUTH_ERROR"), status=401)
        if request.match_info["project"] != self.project_id:
            self.rejected.append("project")
            return web.json_response(error_body(403, "SENDER_ID_MISMATCH"), status=403)
        try:
            body = json.loads(await request.read())
            message = body["message"]
            token = message["token"]
        except (ValueError, KeyError, TypeError):
            return web.json_response(error_body(400, "INVALID_ARGUMENT"), status=400)
        data = message.get("data") or {}
        if not all(isinstance(v, str) for v in data.values()):
            # the real service refuses non-string data values
            return web.json_response(error_body(400, "INVALID_ARGUMENT"), status=400)
        self.count += 1
        key = (str(token), str(data.get("notification_id")))
        if key in self.seen:
            self.duplicates += 1
        self.seen.add(key)
        if self.record:
            self.received.append(
                {
                    "message": message,
                    "content_type": request.headers.get("Content-Type"),
                    "path": request.path,
                    "authorization": auth,
                }
            )
        if token in self.answers:
            status, code = self.answers[token]
            return web.json_response(error_body(status, code), status=status)
        name = f"projects/{self.project_id}/messages/{secrets.token_hex(8)}"
        return web.json_response({"name": name})
