"""TCP sources: a client that reconnects (``from_tcp``) and a server for many clients
(``listen_tcp``). Both parse newline-delimited records into batches; see ``connection.py``."""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl

from ..compress.base import MAX_DECODED, check_max_decoded
from ..core.checks import check_choice, check_number, check_port
from ..core.source import BatchSource
from ..errors import ConfigError, SourceError
from ..parse import DEFAULT_MAX_RECORD, FORMATS, make_parser
from .connection import Feed, pump, pump_frames

__all__ = ["FromTcp", "ListenTcp", "from_tcp", "listen_tcp"]

_MAX_BUFFER = 8 << 20
_MAX_FRAME = 64 << 20  # with codec=: the largest frame accepted


class _SocketSource(BatchSource):
    def __init__(
        self,
        *,
        parse,
        max_rows,
        max_record,
        max_buffer,
        peer_column,
        ssl,
        parse_options,
        stream_name,
        codec=None,
        max_decoded=MAX_DECODED,
        clock=None,
    ) -> None:
        super().__init__(stream_name=stream_name, clock=clock)
        self.parse = check_choice("parse", parse, FORMATS)
        self.max_rows = int(check_number("max_rows", max_rows, low=1, integer=True))
        if codec is not None:
            from ..compress import codec as get_codec

            codec = get_codec(codec)
            max_record = _MAX_FRAME if max_record is None else max_record
        self.codec = codec
        self.max_decoded = check_max_decoded(max_decoded)
        max_record = DEFAULT_MAX_RECORD if max_record is None else max_record
        self.max_record = int(check_number("max_record", max_record, low=1, integer=True))
        self.max_buffer = int(check_number("max_buffer", max_buffer, low=1, integer=True))
        if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
            raise ConfigError(
                f"ssl must be an ssl.SSLContext or None, not {ssl!r}", param="ssl", value=ssl
            )
        self.ssl = ssl
        self.peer_column = peer_column
        self.parse_options = parse_options
        make_parser(self.parse, **parse_options)  # bad parser options fail here

    async def _pump(self, feed: Feed) -> None:
        if self.codec is not None:
            await pump_frames(
                self,
                feed,
                codec=self.codec,
                max_record=self.max_record,
                max_decoded=self.max_decoded,
                peer_column=self.peer_column,
            )
            return
        await pump(
            self,
            feed,
            parse=self.parse,
            parse_options=self.parse_options,
            max_record=self.max_record,
            max_rows=self.max_rows,
            peer_column=self.peer_column,
        )


class FromTcp(_SocketSource):
    """A TCP client source (see :func:`from_tcp`)."""

    def __init__(self, host, port, *, reconnect, backoff, max_backoff, **kw) -> None:
        self.host = host
        self.port = check_port("port", port, allow_zero=False)
        name = kw.pop("stream_name") or f"from_tcp({host}:{port})"
        super().__init__(**kw, stream_name=name)
        self.reconnect = bool(reconnect)
        self.backoff = check_number("backoff", backoff, low=0, low_open=True)
        self.max_backoff = check_number("max_backoff", max_backoff, low=self.backoff)
        self.last_error: str | None = None
        self._feed: Feed | None = None

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff
        ever = False
        while not self.stopped:
            try:
                transport, feed = await loop.create_connection(
                    lambda: Feed(self.max_buffer, now=self.clock.now),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                )
            except (OSError, _ssl.SSLError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self.reconnect:
                    raise SourceError(
                        f"cannot connect to {self.host}:{self.port} ({exc}); is the server "
                        "running? pass reconnect=True to keep trying"
                    ) from exc
                await self.clock.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            self.stats.connections += 1
            if ever:
                self.stats.reconnects += 1
            ever = True
            delay = self.backoff
            self._feed = feed
            try:
                await self._pump(feed)
            finally:
                transport.close()
                self._feed = None
            self.stats.disconnects += 1
            if feed.error is not None:
                self.last_error = f"{type(feed.error).__name__}: {feed.error}"
            if not self.reconnect:
                return
            await self.clock.sleep(delay)

    async def _close(self) -> None:
        if self._feed is not None:
            self._feed.close()


class ListenTcp(_SocketSource):
    """A TCP server source (see :func:`listen_tcp`)."""

    def __init__(self, port, *, host, backlog, **kw) -> None:
        self.host = host
        self.port = check_port("port", port)
        name = kw.pop("stream_name") or f"listen_tcp({host}:{port})"
        super().__init__(**kw, stream_name=name)
        self.backlog = int(check_number("backlog", backlog, low=1, integer=True))
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task] = set()
        self._failed: asyncio.Future | None = None  # set when a connection's pipeline raises
        self._feeds: set[Feed] = set()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on (the real port when ``port=0``)."""
        return self.host, self.port

    def _prepare(self) -> None:
        try:
            infos = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as exc:
            raise ConfigError(
                f"host={self.host!r} does not resolve ({exc})",
                param="host",
                value=self.host,
                hint="use '127.0.0.1' for this machine only or '0.0.0.0' for every interface",
            ) from exc
        family, kind, proto, _, addr = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            sock.close()
            raise SourceError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                "choose another port, or port=0 to let the system pick"
            ) from exc
        sock.listen(self.backlog)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]

    def _opened(self, feed: Feed) -> None:
        self.stats.connections += 1
        self._feeds.add(feed)
        task = asyncio.get_running_loop().create_task(self._serve(feed))
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)

    async def _serve(self, feed: Feed) -> None:
        try:
            await self._pump(feed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a step below raised: the source ends with it, as any source
            if self._failed is not None and not self._failed.done() and not self.stopped:
                self._failed.set_exception(exc)
        finally:
            feed.close()
            self._feeds.discard(feed)
            self.stats.disconnects += 1

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None, "start() calls _prepare() before _produce()"
        self._server = await loop.create_server(
            lambda: Feed(self.max_buffer, on_open=self._opened, now=self.clock.now),
            sock=self._sock,
            ssl=self.ssl,
        )
        self._sock = None  # owned by the server now
        self._failed = loop.create_future()
        await self._failed  # serve until stopped, or until a connection's pipeline raises

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for feed in list(self._feeds):
            feed.close()
        for task in list(self._pumps):
            task.cancel()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @property
    def clients(self) -> int:
        """Connections open now."""
        return len(self._feeds)


def from_tcp(
    host: str,
    port: int,
    *,
    parse: str = "csv",
    reconnect: bool = True,
    backoff: float = 0.05,
    max_backoff: float = 5.0,
    ssl: _ssl.SSLContext | None = None,
    max_rows: int = 100_000,
    max_record: int | None = None,
    max_buffer: int = _MAX_BUFFER,
    peer_column: str | None = None,
    codec=None,
    max_decoded: int = MAX_DECODED,
    stream_name: str | None = None,
    clock=None,
    **parse_options,
) -> FromTcp:
    """Connect to a TCP server and emit its newline-delimited records as batches.

    Batches are adaptive: each holds what arrived since the previous one (at most ``max_rows``
    rows), so a trickle gives one-row batches and a flood gives large ones. With
    ``reconnect=True`` a refused or dropped connection is retried with exponential backoff
    (``backoff`` doubling up to ``max_backoff`` seconds, slept on ``clock``: the event loop's
    by default, see ``streamlab.core.clock``); ``stats.reconnects`` counts them.
    A record cut by a disconnect goes to ``.errors``, never downstream. ``parse`` is one of
    ``csv``, ``jsonl``, ``text``, ``syslog``; other keywords go to the parser. For CSV without
    ``columns=``, the first line of every connection is its header. With ``codec=`` the
    connection carries length-prefixed compressed frames (``to_tcp(codec=...)``) instead of
    text: a frame that does not decode is a dead letter and the next one decodes; so is one
    that would decode to more than ``max_decoded`` bytes (default 256 MiB: a decompression
    bomb is stopped at that limit while it decodes).

    Examples
    --------
    >>> src = from_tcp("127.0.0.1", 9999, parse="csv", columns=["t", "x"])
    >>> src.reconnect, src.stats.rows
    (True, 0)
    >>> from_tcp("127.0.0.1", 70000)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: port must be in 1..65535, not 70000; pick a free port such as 9999
    """
    return FromTcp(
        host,
        port,
        reconnect=reconnect,
        backoff=backoff,
        max_backoff=max_backoff,
        parse=parse,
        max_rows=max_rows,
        max_record=max_record,
        max_buffer=max_buffer,
        peer_column=peer_column,
        ssl=ssl,
        parse_options=parse_options,
        stream_name=stream_name,
        codec=codec,
        max_decoded=max_decoded,
        clock=clock,
    )


def listen_tcp(
    port: int,
    *,
    host: str = "127.0.0.1",
    parse: str = "csv",
    ssl: _ssl.SSLContext | None = None,
    backlog: int = 100,
    max_rows: int = 100_000,
    max_record: int | None = None,
    max_buffer: int = _MAX_BUFFER,
    peer_column: str | None = None,
    codec=None,
    max_decoded: int = MAX_DECODED,
    stream_name: str | None = None,
    clock=None,
    **parse_options,
) -> ListenTcp:
    """Listen for TCP clients (many at once) and emit their records as batches.

    Every batch comes from one connection and names it in ``df.attrs["peer"]`` (and in a
    column, with ``peer_column="peer"``). Records of one connection arrive in order. The
    socket is bound by ``start()``, so ``src.port`` is the real port after it (``port=0``
    lets the system choose). Binds to 127.0.0.1 unless told otherwise. ``codec=`` and
    ``max_decoded=`` work as in :func:`from_tcp`.

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     src = listen_tcp(0, parse="text")
    ...     lines = src.map(lambda df: df["line"].tolist()).sink_to_list()
    ...     src.start()
    ...     _, w = await asyncio.open_connection(*src.address)
    ...     w.write(b"hello\\nworld\\n"); await w.drain(); w.close()
    ...     while not lines:
    ...         await asyncio.sleep(0.01)
    ...     src.stop(); await src.wait()
    ...     return lines
    >>> asyncio.run(main())
    [['hello', 'world']]
    """
    return ListenTcp(
        port,
        host=host,
        backlog=backlog,
        parse=parse,
        max_rows=max_rows,
        max_record=max_record,
        max_buffer=max_buffer,
        peer_column=peer_column,
        ssl=ssl,
        parse_options=parse_options,
        stream_name=stream_name,
        codec=codec,
        max_decoded=max_decoded,
        clock=clock,
    )
