"""One connection's bytes into batches: a back-pressured protocol and the pump that parses it.

The protocol collects whatever the socket delivers; the pump takes all of it at once, cuts it
into complete records, parses them in one call and emits one batch. While the pipeline is busy
(or paused) bytes accumulate up to ``max_buffer``, then the transport stops reading, so TCP
flow control slows the producer down: memory stays bounded at any input rate.
"""

from __future__ import annotations

import asyncio
from typing import cast

from ..parse import LineFramer, make_parser

__all__ = ["Feed", "pump", "pump_frames"]

#: A read this large means the kernel had more bytes waiting: the stream is fast, so gather
#: more reads into the batch (throughput). A smaller read means the socket is drained: the
#: batch leaves now (latency). Either way a batch waits at most ``_LINGER`` seconds more.
_FULL_READ = 64 * 1024
_LINGER = 0.002


class Feed(asyncio.Protocol):
    """Collects bytes from one connection; pauses reading above ``max_buffer`` bytes."""

    def __init__(self, max_buffer: int, on_open=None, batch_bytes: int = 4 << 20, now=None) -> None:
        self.max_buffer = max_buffer
        self.now = now  # the source's clock.now (None: arrival times are not noted)
        self.first_at: float | None = None  # when the oldest byte not yet taken arrived
        self.arrived: float | None = None  # when the oldest byte of the last take arrived
        self.batch_bytes = min(batch_bytes, max_buffer)
        self._last_read = 0
        self.on_open = on_open
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self._chunks: list[bytes] = []
        self._size = 0
        self._ready = asyncio.Event()
        self._reading_paused = False
        self.ended = False
        self.error: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream protocol's transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if self.on_open is not None:
            self.on_open(self)

    def data_received(self, data: bytes) -> None:
        if not self._chunks and self.now is not None:
            self.first_at = self.now()
        self._chunks.append(data)
        self._size += len(data)
        self._last_read = len(data)
        self._ready.set()
        if self._size >= self.max_buffer and not self._reading_paused:
            assert self.transport is not None  # data comes after connection_made
            self.transport.pause_reading()
            self._reading_paused = True

    def eof_received(self):
        self.ended = True
        self._ready.set()
        return False  # close the transport

    def connection_lost(self, exc) -> None:
        self.ended = True
        self.error = exc
        self._ready.set()

    async def take(self) -> bytes | None:
        """Everything received since the last call; ``None`` once the connection has ended."""
        while not self._chunks:
            if self.ended:
                return None
            self._ready.clear()
            await self._ready.wait()
        while self._last_read >= _FULL_READ and self._size < self.batch_bytes and not self.ended:
            self._ready.clear()
            self._last_read = 0
            try:  # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the
                # source's cancellation (stop()) when the wait ends at the same moment
                async with asyncio.timeout(_LINGER):
                    await self._ready.wait()
            except TimeoutError:
                break
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self.arrived, self.first_at = self.first_at, None
        self._chunks.clear()
        self._size = 0
        if self._reading_paused and not self.ended:
            self._reading_paused = False
            assert self.transport is not None  # reading was paused by data_received
            self.transport.resume_reading()
        return data

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def pump(
    source,
    feed: Feed,
    *,
    parse: str,
    parse_options: dict,
    max_record: int,
    max_rows: int,
    peer_column: str | None,
) -> None:
    """Parse one connection until it ends; emit its batches on ``source`` in order."""
    origin = f"peer {feed.peer}"
    framer = LineFramer(max_record=max_record, origin=origin)
    parser = make_parser(parse, **parse_options)
    seen_changes = 0
    try:
        while (data := await feed.take()) is not None:
            if source.stopped:  # stop() cancels this task; never read on past it regardless
                break
            source.arrived = feed.arrived
            source.stats.bytes += len(data)
            pieces, bad = framer.push(data)
            df, more = parser.parse_pieces(pieces, origin=origin)
            source.stats.schema_changes += parser.schema_changes - seen_changes
            seen_changes = parser.schema_changes
            await source.dead(bad + more)
            if df is None:
                continue
            df.attrs["peer"] = feed.peer
            if peer_column is not None:
                df[peer_column] = feed.peer
            for i in range(0, len(df), max_rows):
                await source.emit_batch(df.iloc[i : i + max_rows] if len(df) > max_rows else df)
    except asyncio.CancelledError:
        source.note_dead(framer.finish(at_eof=False)[1])  # stopping: count, do not emit
        raise
    await source.dead(framer.finish(at_eof=False)[1])


_LEN = 4


async def pump_frames(
    source,
    feed: Feed,
    *,
    codec,
    max_record: int,
    max_decoded: int,
    peer_column: str | None,
) -> None:
    """Length-prefixed codec frames (``to_tcp(codec=...)``) into batches. A frame that does not
    decode is a dead letter with the codec's reason; the next frame decodes as usual. So is a
    frame that would decode to more than ``max_decoded`` bytes (a decompression bomb): the
    codec stops at that limit while it decodes. A length above ``max_record`` cannot be
    trusted to find the next frame: the connection is closed."""
    from ..core.deadletter import DeadLetter

    origin = f"peer {feed.peer}"
    buf = bytearray()
    offset = 0
    while (data := await feed.take()) is not None:
        source.arrived = feed.arrived  # frames left from the previous take: close enough
        source.stats.bytes += len(data)
        buf += data
        while len(buf) >= _LEN:
            size = int.from_bytes(buf[:_LEN], "big")
            if size > max_record:
                await source.dead(
                    [
                        DeadLetter(
                            raw=bytes(buf[:64]),
                            origin=origin,
                            offset=offset,
                            reason=f"frame length {size} is over max_record="
                            f"{max_record}: not a frame stream, or corrupt; "
                            "closing the connection",
                        )
                    ]
                )
                feed.close()
                return
            if len(buf) < _LEN + size:
                break
            payload = bytes(buf[_LEN : _LEN + size])
            del buf[: _LEN + size]
            try:
                df = codec.decode_frame(payload, max_decoded=max_decoded)
            except Exception as exc:  # CodecError, or the frame is not one at all
                await source.dead(
                    [DeadLetter(raw=payload, reason=str(exc), origin=origin, offset=offset)]
                )
            else:
                df.attrs["peer"] = feed.peer
                if peer_column is not None:
                    df[peer_column] = feed.peer
                await source.emit_batch(df)
            offset += _LEN + size
    if buf:
        await source.dead(
            [
                DeadLetter(
                    raw=bytes(buf),
                    origin=origin,
                    offset=offset,
                    reason=f"connection closed in the middle of a frame ({len(buf)} bytes)",
                )
            ]
        )
