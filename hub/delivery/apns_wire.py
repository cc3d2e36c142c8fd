"""Cheaper HTTP/2 framing for aioapns' connections (same requests on the wire, less CPU).

aioapns writes every push through h2 with its defaults: outbound headers are
normalised and validated, then HPACK-encoded with Huffman coding and the dynamic
table, all in pure Python, and each request is a TLS write of its own. Those were
the largest CPU costs of an APNs push (bench/push.py). Here:

- headers are encoded as HPACK literals *without indexing* (static-table names
  where they exist). That representation does not depend on the dynamic table,
  so the bytes of the headers that repeat on every push (method, topic,
  priority, push type, the provider token) are computed once and reused; only
  ``:path`` (the device token) and ``apns-id`` are encoded per push. The
  provider token is sent *never indexed*, as h2 does for ``authorization``.
- h2's outbound header normalisation and validation are off: aioapns builds
  every header block itself, lower-case names, pseudo-headers first.
- writes are coalesced: the pushes a worker starts together leave in TLS writes of
  WRITE_CHUNK requests (the rest at the end of the event-loop turn), not one write
  each. Not all in one write: APNs starts on the first chunk while the hub frames
  the next, instead of the two taking turns (one worker: about 1,450 → 1,950
  push/s against the local fake, bench/push.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aioapns.connection import APNsTLSClientProtocol
from hpack import NeverIndexedHeaderTuple
from hpack.hpack import Encoder, encode_integer
from hpack.table import HeaderTable

# first static-table index of each (name, value) and of each name (RFC 7541, appendix A)
_STATIC_FIELDS: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAMES: dict[bytes, int] = {}
for _i, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, 1):
    _STATIC_FIELDS.setdefault((_name, _value), _i)
    _STATIC_NAMES.setdefault(_name, _i)

# headers that differ on every push: not worth remembering
VARYING = frozenset({b":path", b"apns-id", b"apns-expiration", b"apns-collapse-id"})
SENSITIVE = frozenset({b"authorization"})
CACHE_LIMIT = 512
WRITE_CHUNK = 8  # requests per TLS write (see the module docstring)


def _integer(value: int, prefix_bits: int, flags: int) -> bytes:
    encoded = encode_integer(value, prefix_bits)
    encoded[0] |= flags
    return bytes(encoded)


def encode_field(name: bytes, value: bytes) -> bytes:
    """One header field without touching the dynamic table (RFC 7541 §6.1, §6.2.2, §6.2.3)."""
    never = name in SENSITIVE
    full = _STATIC_FIELDS.get((name, value))
    if full is not None and not never:
        return _integer(full, 7, 0x80)  # indexed: the static table has name and value
    flags = 0x10 if never else 0x00
    index = _STATIC_NAMES.get(name)
    if index is not None:
        head = _integer(index, 4, flags)
    else:
        head = bytes([flags]) + _integer(len(name), 7, 0) + name
    return head + _integer(len(value), 7, 0) + value


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


class LiteralEncoder:
    """Stands in for an h2 connection's `Encoder.encode`, with the same signature."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._original = encoder.encode
        self._cache: dict[tuple[bytes, bytes], bytes] = {}

    def encode(self, headers: Iterable[Any], huffman: bool = True) -> bytes:
        if self.encoder.header_table.resized:
            # the peer changed the table size: hpack must announce it first (RFC 7541 §4.2)
            return self._original(
                [
                    NeverIndexedHeaderTuple(*h[:2]) if _as_bytes(h[0]) in SENSITIVE else h
                    for h in headers
                ],
                huffman=False,
            )
        cache = self._cache
        block = []
        for header in headers:
            key = (_as_bytes(header[0]), _as_bytes(header[1]))
            field = cache.get(key)
            if field is None:
                field = encode_field(*key)
                if key[0] not in VARYING:
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()  # a new provider token every 30 minutes, at most
                    cache[key] = field
            block.append(field)
        return b"".join(block)


class FastProtocol(APNsTLSClientProtocol):
    """aioapns' TLS protocol with the framing above (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.conn.config
        config.normalize_outbound_headers = False
        config.validate_outbound_headers = False
        setattr(  # noqa: B010 - replacing a bound method on this connection only
            self.conn.encoder, "encode", LiteralEncoder(self.conn.encoder).encode
        )
        self._flush_scheduled = False
        self._unwritten = 0

    def flush(self) -> None:
        # aioapns calls this after each request (and after reading answers)
        self._unwritten += 1
        if self._unwritten >= WRITE_CHUNK:
            self._write_out()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._scheduled_write)

    def _scheduled_write(self) -> None:
        self._flush_scheduled = False
        self._write_out()

    def _write_out(self) -> None:
        self._unwritten = 0
        if self.transport is None or self.transport.is_closing():
            return
        self.refresh_inactivity_timer()
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)
