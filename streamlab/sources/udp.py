"""UDP source: every datagram is one or more newline-separated records (syslog, metrics)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from ..core.buffer import BoundedBuffer
from ..core.checks import check_choice, check_number, check_port
from ..core.source import BatchSource
from ..errors import ConfigError, SourceError
from ..parse import FORMATS, Parser, make_parser

__all__ = ["FromUdp", "from_udp"]

_MAX_PEERS = 1024


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, buffer: BoundedBuffer, now) -> None:
        self.buffer, self.now = buffer, now

    def datagram_received(self, data: bytes, addr) -> None:
        self.buffer.put_nowait((data, addr, self.now()))


class FromUdp(BatchSource):
    """A UDP source (see :func:`from_udp`)."""

    def __init__(
        self,
        port,
        *,
        host,
        parse,
        max_datagrams,
        receive_buffer,
        peer_column,
        parse_options,
        stream_name,
        clock=None,
    ) -> None:
        self.host = host
        self.port = check_port("port", port)
        super().__init__(stream_name=stream_name or f"from_udp({host}:{port})", clock=clock)
        self.parse = check_choice("parse", parse, FORMATS)
        if parse == "csv" and not parse_options.get("columns"):
            raise ConfigError(
                "from_udp(parse='csv') needs columns=[...]: datagrams carry no "
                "header (one lost datagram would lose it)",
                param="columns",
                value=parse_options.get("columns"),
            )
        self.parse_options = parse_options
        make_parser(parse, **parse_options)
        self.max_datagrams = int(check_number("max_datagrams", max_datagrams, low=1, integer=True))
        self.receive_buffer = int(
            check_number("receive_buffer", receive_buffer, low=0, integer=True)
        )
        self.peer_column = peer_column
        self._buffer: BoundedBuffer | None = None
        self._sock: socket.socket | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._parsers: dict[str, tuple[Parser, list[int]]] = {}

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def buffered(self) -> int:
        """Datagrams received and not yet parsed."""
        return 0 if self._buffer is None else len(self._buffer)

    def _prepare(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        if self.receive_buffer:
            # bursts wait in the kernel instead of being dropped there; as root the system
            # limit (net.core.rmem_max) can be passed, otherwise it caps the size
            force: int | None = getattr(socket, "SO_RCVBUFFORCE", None)
            try:
                if force is None:
                    raise OSError("this system has no SO_RCVBUFFORCE")
                sock.setsockopt(socket.SOL_SOCKET, force, self.receive_buffer)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        try:
            sock.bind((self.host, self.port))
        except socket.gaierror as exc:
            sock.close()
            raise ConfigError(
                f"host={self.host!r} does not resolve ({exc})",
                param="host",
                value=self.host,
                hint="use '127.0.0.1' for this machine only or '0.0.0.0' for every interface",
            ) from exc
        except OSError as exc:
            sock.close()
            raise SourceError(
                f"cannot listen on UDP {self.host}:{self.port} ({exc.strerror}); "
                "choose another port, or port=0 to let the system pick"
            ) from exc
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        # UDP cannot push back: when the pipeline falls behind, the oldest datagrams go first,
        # and every one is counted in stats.dropped.
        self._buffer = BoundedBuffer(self.max_datagrams, policy="drop_oldest")

    def _parser(self, peer: str) -> tuple[Parser, list[int]]:
        if peer not in self._parsers:
            if len(self._parsers) >= _MAX_PEERS:
                self._parsers.pop(next(iter(self._parsers)))
            self._parsers[peer] = (make_parser(self.parse, **self.parse_options), [0])
        return self._parsers[peer]

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        buffer = self._buffer
        assert buffer is not None, "start() calls _prepare() before _produce()"
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(buffer, self.clock.now), sock=self._sock
        )
        self._sock = None
        while not self.stopped:
            await buffer.wait_not_empty()
            self.stats.dropped = buffer.dropped
            items = buffer.drain()
            start = 0
            while start < len(items):  # consecutive datagrams of one peer parse together
                addr = items[start][1]
                end = start
                while end < len(items) and items[end][1] == addr:
                    end += 1
                self.arrived = items[start][2]
                await self._emit_peer(addr, [d for d, _, _ in items[start:end]])
                start = end

    async def _emit_peer(self, addr: tuple[Any, ...], datagrams: list[bytes]) -> None:
        peer = f"{addr[0]}:{addr[1]}"
        parser, offset = self._parser(peer)
        data = b"".join(d if d.endswith(b"\n") else d + b"\n" for d in datagrams)
        self.stats.bytes += sum(map(len, datagrams))
        df, bad = parser.parse(data, origin=f"peer {peer}", offset=offset[0])
        offset[0] += len(data)
        await self.dead(bad)
        if df is not None:
            df.attrs["peer"] = peer
            if self.peer_column is not None:
                df[self.peer_column] = peer
            await self.emit_batch(df)

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def from_udp(
    port: int,
    *,
    host: str = "127.0.0.1",
    parse: str = "text",
    max_datagrams: int = 100_000,
    receive_buffer: int = 4 << 20,
    peer_column: str | None = None,
    stream_name: str | None = None,
    clock=None,
    **parse_options,
) -> FromUdp:
    """Receive UDP datagrams and emit their records as batches.

    A datagram holds one record or several separated by newlines; its last record needs no
    newline. Batches group consecutive datagrams of one sender (``df.attrs["peer"]``). UDP
    has no back-pressure: at most ``max_datagrams`` wait to be parsed, then the oldest are
    dropped and counted in ``stats.dropped``; datagrams the kernel drops before we see them
    cannot be counted, so ``receive_buffer`` (bytes, default 4 MiB) asks the kernel to hold
    bursts. The socket is bound by ``start()``. ``stats.age`` is read from ``clock.wall()``
    (the system's by default; see ``streamlab.core.clock``).

    Examples
    --------
    >>> import asyncio, socket
    >>> async def main():
    ...     src = from_udp(0, parse="syslog")
    ...     got = src.sink_to_list()
    ...     src.start()
    ...     tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ...     tx.sendto(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed", src.address)
    ...     await src.wait_rows(1)
    ...     src.stop(); await src.wait(); tx.close()
    ...     row = got[0].iloc[0]
    ...     return row.host, row.app, int(row.facility), int(row.severity)
    >>> asyncio.run(main())
    ('mymachine', 'su', 4, 2)
    """
    return FromUdp(
        port,
        host=host,
        parse=parse,
        max_datagrams=max_datagrams,
        receive_buffer=receive_buffer,
        peer_column=peer_column,
        parse_options=parse_options,
        stream_name=stream_name,
        clock=clock,
    )
