"""``stream.to_tcp(host, port)`` and ``stream.to_udp(host, port)``.

Both serialise each batch with :func:`streamlab.parse.serialize.to_bytes` (newline text) or,
with ``framing="length"``, send each element as one length-prefixed frame (for binary payloads
such as compressed batches). ``to_tcp`` returns an awaitable from ``update``, so a streamlab
source waits for the socket to drain: a slow receiver slows the source, it does not grow a queue.
If the connection drops, ``to_tcp`` reconnects (``reconnect=True``) and sends the batch again:
delivery is at least once, and the receiver sees the cut record as a bad record.

When every source feeding a sink has stopped, its socket is closed (``release()``, called by
the sources); a source started again reconnects (``to_tcp``) or reopens (``to_udp``) it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from streamz.sinks import Sink

from ..core.checks import check_choice, check_number, check_port
from ..core.clock import resolve_clock
from ..core.registry import register_step
from ..core.stats import Stats
from ..core.step import Step
from ..errors import SourceError
from ..parse.serialize import OUT_FORMATS, frame_length_prefixed, header_bytes, to_bytes

__all__ = ["ToTcp", "ToUdp"]

FRAMINGS = ("newline", "length")


class _Sender(Step, Sink):
    def __init__(self, upstream, host, port, *, format, framing, stream_name, codec=None) -> None:
        super().__init__(upstream, stream_name=stream_name)
        self.host = host
        self.port = check_port("port", port, allow_zero=False)
        self.format = check_choice("format", format, OUT_FORMATS)
        self.framing = check_choice("framing", framing, FRAMINGS)
        self.codec = None
        if codec is not None:  # each batch one compressed, length-prefixed frame
            from ..compress import codec as get_codec

            self.codec = get_codec(codec)
            self.framing = "length"
        self.stats = Stats()

    def _payload(self, x: Any) -> bytes:
        if self.codec is not None and not isinstance(x, bytes):
            return frame_length_prefixed(self.codec.encode_frame(x))
        if self.framing == "length":
            return frame_length_prefixed(x if isinstance(x, bytes) else to_bytes(x, self.format))
        return to_bytes(x, self.format)


@register_step(kind="sink")
class to_tcp(_Sender):
    """Send every batch to a TCP server; wait for the socket to drain (back-pressure).

    Examples
    --------
    >>> import asyncio, streamlab
    >>> async def main():
    ...     server = streamlab.listen_tcp(0, parse="csv")
    ...     got = server.sink_to_list()
    ...     server.start()
    ...     src = streamlab.generate("sine", rows=100, batch_rows=30)
    ...     sent = src.to_tcp(*server.address)
    ...     await streamlab.arun(src)  # src ended: sent closed its connection
    ...     await server.wait_rows(100)
    ...     server.stop()
    ...     return sum(map(len, got)), sent.stats.rows, list(got[0].columns)
    >>> asyncio.run(main())
    (100, 100, ['time', 'key', 'value', 'is_anomaly', 'drifted'])
    """

    def __init__(
        self,
        upstream,
        host,
        port,
        *,
        format="csv",
        framing="newline",
        reconnect=True,
        backoff=0.05,
        max_backoff=2.0,
        ssl=None,
        codec=None,
        clock=None,
        stream_name=None,
    ) -> None:
        super().__init__(
            upstream,
            host,
            port,
            format=format,
            framing=framing,
            codec=codec,
            stream_name=stream_name or f"to_tcp({host}:{port})",
        )
        self.reconnect = bool(reconnect)
        self.backoff = check_number("backoff", backoff, low=0, low_open=True)
        self.max_backoff = check_number("max_backoff", max_backoff, low=self.backoff)
        self.ssl = ssl
        self.clock = resolve_clock(clock)  # for the reconnect backoff
        self._writer: asyncio.StreamWriter | None = None
        self._lock: asyncio.Lock | None = None

    def update(self, x, who=None, metadata=None):
        return self._send(x)

    async def _connect(self, first_batch: Any) -> asyncio.StreamWriter:
        delay = self.backoff
        while True:
            try:
                _, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl)
            except OSError as exc:
                if not self.reconnect:
                    raise SourceError(
                        f"to_tcp cannot connect to {self.host}:{self.port} "
                        f"({exc}); is the receiver running?"
                    ) from exc
                await self.clock.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            self.stats.connections += 1
            if self.stats.connections > 1:
                self.stats.reconnects += 1
            if self.framing == "newline" and self.format == "csv" and self.codec is None:
                writer.write(header_bytes(first_batch, "csv"))
            self._writer = writer
            return writer

    async def _send(self, x) -> None:
        payload = self._payload(x)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                writer = self._writer if self._writer is not None else await self._connect(x)
                try:
                    writer.write(payload)
                    await writer.drain()
                except (ConnectionError, OSError) as exc:
                    self.stats.disconnects += 1
                    writer.close()
                    self._writer = None
                    if not self.reconnect:
                        self.stats.dropped += 1
                        raise SourceError(f"to_tcp lost {self.host}:{self.port} ({exc})") from exc
                    continue
                self.stats.count_batch(
                    rows=len(x) if hasattr(x, "__len__") else 1, nbytes=len(payload)
                )
                return

    async def close(self) -> None:
        """Close the connection (the sink reconnects if more batches come)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def release(self) -> None:
        """Every source feeding the sink has stopped: close the connection now (a source
        started again reconnects)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


@register_step(kind="sink")
class to_udp(_Sender):
    """Send every batch as UDP datagrams, records packed up to ``max_datagram`` bytes each.

    UDP has no back-pressure and no delivery guarantee: a record longer than ``max_datagram``
    is not sent and is counted in ``stats.dropped``. CSV goes without a header (a datagram
    can be lost, a header with it): receivers name the columns (``from_udp(columns=...)``).

    Examples
    --------
    >>> import socket, pandas as pd
    >>> rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rx.bind(("127.0.0.1", 0))
    >>> from streamz import Stream
    >>> src = Stream()
    >>> out = src.to_udp(*rx.getsockname(), format="text")
    >>> _ = src.emit(pd.DataFrame({"line": ["a", "b"]}))
    >>> rx.recv(100), out.stats.rows
    (b'a\\nb\\n', 2)
    >>> rx.close(); out.close()
    """

    def __init__(
        self,
        upstream,
        host,
        port,
        *,
        format="csv",
        framing="newline",
        max_datagram=8192,
        stream_name=None,
    ) -> None:
        super().__init__(
            upstream,
            host,
            port,
            format=format,
            framing=framing,
            stream_name=stream_name or f"to_udp({host}:{port})",
        )
        self.max_datagram = int(
            check_number("max_datagram", max_datagram, low=1, high=65507, integer=True)
        )
        self._sock: socket.socket | None = None
        self._open()

    def _open(self) -> socket.socket:
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        return self._sock

    def update(self, x, who=None, metadata=None):
        payload = self._payload(x)
        rows = len(x) if hasattr(x, "__len__") else 1
        sock = self._open()
        for datagram in self._pack(payload):
            try:
                sock.sendto(datagram, (self.host, self.port))
            except BlockingIOError:
                self.stats.dropped += 1
            except OSError as exc:
                raise SourceError(f"to_udp cannot send to {self.host}:{self.port} ({exc})") from exc
        self.stats.count_batch(rows=rows, nbytes=len(payload))

    def _pack(self, payload: bytes) -> Iterator[bytes]:
        if self.framing == "length" or len(payload) <= self.max_datagram:
            if len(payload) > 65507:
                self.stats.dropped += 1
                return
            yield payload
            return
        start = 0
        while start < len(payload):
            end = payload.rfind(b"\n", start, start + self.max_datagram) + 1
            if end <= start:  # one record longer than a datagram
                nxt = payload.find(b"\n", start)
                start = len(payload) if nxt < 0 else nxt + 1
                self.stats.dropped += 1
                continue
            yield payload[start:end]
            start = end

    def close(self) -> None:
        """Close the socket (the next batch opens another)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def release(self) -> None:
        """Every source feeding the sink has stopped: close the socket (see ``close``)."""
        self.close()


ToTcp = to_tcp
ToUdp = to_udp
