"""HPACK literals for aioapns: what a real decoder (hpack, as servers use) reads back."""

from __future__ import annotations

import asyncio

from hpack import Decoder, Encoder

from hub.delivery import apns_wire
from hub.delivery.apns_wire import LiteralEncoder, encode_field


def push_headers(token: str, apns_id: str, jwt: str = "bearer eyJ.x.y") -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "https"),
        (":path", f"/3/device/{token}"),
        ("host", "api.push.apple.com"),
        ("apns-id", apns_id),
        ("apns-topic", "com.example.app"),
        ("apns-priority", "10"),
        ("apns-push-type", "alert"),
        ("authorization", jwt),
    ]


def test_blocks_decode_to_the_same_headers_and_leave_the_table_empty() -> None:
    encoder = Encoder()
    literal = LiteralEncoder(encoder)
    decoder = Decoder()
    for i in range(3):
        headers = push_headers(f"{i:064x}", f"id-{i}")
        assert decoder.decode(literal.encode(headers)) == headers
    assert len(decoder.header_table.dynamic_entries) == 0
    # the repeating headers were encoded once; the per-push ones are not kept
    assert len(literal._cache) == 7


def test_authorization_is_never_indexed_and_static_pairs_are_indexed() -> None:
    assert encode_field(b":method", b"POST") == bytes([0x80 | 3])
    auth = encode_field(b"authorization", b"bearer t")
    assert auth[0] & 0xF0 == 0x10  # literal never indexed, static name (index 23)
    decoded = Decoder().decode(auth, raw=True)
    assert decoded == [(b"authorization", b"bearer t")]
    assert not decoded[0].indexable
    custom = encode_field(b"apns-topic", b"x" * 200)  # new name, long value
    assert Decoder().decode(custom) == [("apns-topic", "x" * 200)]


def test_a_table_size_change_from_the_peer_is_announced_first() -> None:
    encoder = Encoder()
    literal = LiteralEncoder(encoder)
    decoder = Decoder()
    headers = push_headers("ab" * 32, "id")
    assert decoder.decode(literal.encode(headers)) == headers
    encoder.header_table_size = 0  # the peer's SETTINGS_HEADER_TABLE_SIZE
    block = literal.encode(headers)
    assert block[0] & 0xE0 == 0x20  # dynamic table size update
    decoder.max_allowed_table_size = 0
    assert decoder.decode(block) == headers
    assert decoder.decode(literal.encode(headers)) == headers  # then literals again


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None


async def test_requests_leave_in_chunks_so_the_server_starts_on_the_first_ones() -> None:

    protocol = apns_wire.FastProtocol("com.example.app", loop=asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the connection preface goes out on the next loop turn
    assert len(transport.writes) == 1
    n = apns_wire.WRITE_CHUNK * 2 + 3
    for i in range(n):  # what aioapns does for each request started in one loop turn
        stream = 2 * i + 1
        protocol.conn.send_headers(stream, push_headers(f"{i:064x}", f"id-{i}"))
        protocol.conn.send_data(stream, b"{}", end_stream=True)
        protocol.flush()
    assert len(transport.writes) == 3  # two full chunks written at once
    await asyncio.sleep(0)
    assert len(transport.writes) == 4  # the rest at the end of the loop turn
    assert b"".join(transport.writes[1:]).count(b"/3/device/") == n  # literal paths
    protocol.inactivity_timer.cancel()
