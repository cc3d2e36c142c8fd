"""A local APNs provider API: HTTP/2 over TLS, token (JWT ES256) auth, Apple's answers.

It speaks the protocol the real service does, so the real aioapns client is
exercised end to end: ``POST /3/device/<token>`` with ``authorization: bearer
<JWT>``, ``apns-topic``, ``apns-push-type``, ``apns-priority``, ``apns-id`` and
a JSON body. Success is ``200`` with headers only (``apns-id``), as Apple
answers; errors carry ``{"reason": ...}`` (410 also a ``timestamp``).

Used by the tests and by bench/push.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded


def make_p8_key() -> tuple[str, Any]:
    """A new APNs-style signing key: (PKCS#8 PEM text as in a .p8 file, public key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def make_tls_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "apns-cert.pem", directory / "apns-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class FakeAPNs:
    """The server state: what arrived, and how to answer particular tokens."""

    public_key: Any
    team_id: str
    key_id: str
    topic: str
    # token -> (status, reason): e.g. {"dead": (400, "BadDeviceToken")}; status 0 = no answer
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why requests were refused
    record: bool = True  # off in benchmarks: count only
    count: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)  # (token, notification_id)
    duplicates: int = 0
    _verified: set[str] = field(default_factory=set)
    server: asyncio.AbstractServer | None = None
    port: int = 0

    async def start(self, cert: Path, key: Path, host: str = "127.0.0.1") -> str:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["h2"])
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _H2Server(self), host, 0, ssl=ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"https://{host}:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for transport in list(_OPEN.get(id(self), [])):
                transport.close()
            await self.server.wait_closed()

    def check_auth(self, authorization: str) -> str | None:
        """None when the provider token is valid, else Apple's reason."""
        if not authorization.lower().startswith("bearer "):
            return "MissingProviderToken"
        token = authorization.split(" ", 1)[1]
        if token in self._verified:  # a provider token is reused for up to an hour
            return None
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"])
        except jwt.InvalidTokenError:
            return "InvalidProviderToken"
        if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            return "InvalidProviderToken"
        if abs(time.time() - int(claims.get("iat", 0))) > 3600:
            return "ExpiredProviderToken"
        self._verified.add(token)
        return None

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        path = headers.get(":path", "")
        if headers.get(":method") != "POST" or not path.startswith("/3/device/"):
            return 404, {"reason": "BadPath"}
        token = path.removeprefix("/3/device/")
        reason = self.check_auth(headers.get("authorization", ""))
        if reason:
            self.rejected.append(reason)
            return 403, {"reason": reason}
        if headers.get("apns-topic") != self.topic:
            self.rejected.append("BadTopic")
            return 400, {"reason": "DeviceTokenNotForTopic"}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"reason": "BadPayload"}
        if "aps" not in payload:
            return 400, {"reason": "PayloadEmpty"}
        self.count += 1
        key = (token, str(payload.get("notification_id")))
        if key in self.seen:
            self.duplicates += 1
        self.seen.add(key)
        if self.record:
            self.received.append(Received(token, headers, payload))
        if token in self.answers:
            status, why = self.answers[token]
            out: dict[str, Any] = {"reason": why}
            if status == 410:
                out["timestamp"] = int(time.time() * 1000)
            return status, out
        return 200, None


_OPEN: dict[int, set[asyncio.Transport]] = {}


class _H2Server(asyncio.Protocol):
    def __init__(self, fake: FakeAPNs) -> None:
        self.fake = fake
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _OPEN.setdefault(id(self.fake), set()).add(transport)
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            _OPEN.get(id(self.fake), set()).discard(self.transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        for event in self.conn.receive_data(data):
            if isinstance(event, RequestReceived):
                headers = {str(k): str(v) for k, v in event.headers or []}
                self.streams[event.stream_id] = (headers, bytearray())
            elif isinstance(event, DataReceived):
                assert event.stream_id is not None and event.data is not None
                self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(
                    event.flow_controlled_length or 0, event.stream_id
                )
            elif isinstance(event, StreamEnded):
                assert event.stream_id is not None
                self._respond(event.stream_id)
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
                return
        self.transport.write(self.conn.data_to_send())

    def _respond(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id)
        status, out = self.fake.answer(headers, bytes(body))
        if status == 0:  # told to hang: never answer this stream
            return
        response = [(":status", str(status)), ("apns-id", headers.get("apns-id", ""))]
        if out is None:
            self.conn.send_headers(stream_id, response, end_stream=True)
            return
        data = json.dumps(out).encode()
        response.append(("content-type", "application/json"))
        self.conn.send_headers(stream_id, response)
        self.conn.send_data(stream_id, data, end_stream=True)
