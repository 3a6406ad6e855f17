"""``streamlab serve``: any file becomes a live stream on a socket, with its recorded timing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from ..core.checks import check_port
from ..parse.serialize import header_bytes, to_bytes
from .paced import PacedSource
from .replay import Replay, replay

__all__ = ["ReplayServer", "send_udp", "serve"]


class ReplayServer:
    """Serves a file to every TCP client that connects: each client gets its own replay from
    the start, paced by the time column, as CSV (header first), JSON Lines or text.

    ``inject`` (used by the demo) maps a row number to a raw line sent before that row, to show
    what happens to malformed records downstream. ``clock`` paces every client's replay
    (the event loop's by default; see ``streamlab.core.clock``).
    """

    def __init__(
        self,
        path,
        *,
        host="127.0.0.1",
        port=9999,
        speed=1.0,
        time_column=None,
        loop=False,
        format=None,
        inject=None,
        clock=None,
        **parse_options,
    ) -> None:
        self.path = Path(path)
        self.options = dict(
            time_column=time_column,
            speed=PacedSource._check_speed(speed),
            format=format,
            loop=loop,
            clock=clock,
            **parse_options,
        )
        probe = replay(self.path, **self.options)  # checks the arguments now, not per client
        self.format = "text" if probe.format == "syslog" else probe.format
        if probe.format == "syslog":
            self.options.update(format="text", time_column=None)
        self.host = host
        self.port = check_port("port", port)
        self.inject = dict(inject or {})
        self.clients = 0
        self.server: asyncio.Server | None = None
        self._replays: set[Replay] = set()

    async def start(self) -> ReplayServer:
        self.server = await asyncio.start_server(
            self._client, self.host, self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader, writer) -> None:
        self.clients += 1
        src = replay(self.path, **self.options)
        self._replays.add(src)
        state = {"header": self.format == "csv", "row": 0}

        async def send(df) -> None:
            out = []
            if state["header"]:
                out.append(header_bytes(df, "csv"))
                state["header"] = False
            for at in sorted(k for k in self.inject if state["row"] <= k < state["row"] + len(df)):
                cut = at - state["row"]
                out += [to_bytes(df.iloc[:cut], self.format), self.inject[at]]
                df = df.iloc[cut:]
                state["row"] += cut
            out.append(to_bytes(df, self.format))
            state["row"] += len(df)
            try:
                writer.write(b"".join(out))
                await writer.drain()
            except ConnectionError:
                src.stop()  # the client went away: its replay ends, the server goes on

        src.sink(send)
        src.start()
        try:
            await src.wait()
        except asyncio.CancelledError:
            src.stop()
        finally:
            self._replays.discard(src)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def stop(self) -> None:
        for src in list(self._replays):
            src.stop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def send_udp(path, target: tuple[str, int], **options) -> Replay:
    """Replay a file as UDP datagrams to ``target`` (CSV goes without a header)."""
    src = replay(path, **options)
    fmt = "text" if src.format == "syslog" else src.format
    out = src.to_udp(*target, format=fmt)
    src.start()
    try:
        await src.wait()
    finally:
        out.close()
    return src


async def serve(
    path,
    *,
    host: str = "127.0.0.1",
    port: int = 9999,
    speed: float = 1.0,
    time_column: str | None = None,
    loop: bool = False,
    format: str | None = None,
    clock=None,
    **parse_options,
) -> ReplayServer:
    """Start a replay server on the running loop (a notebook's, or ``asyncio.run``'s): every
    TCP client that connects gets the file replayed from the start at ``speed``.

    Examples
    --------
    >>> import asyncio, streamlab
    >>> async def main():
    ...     server = await streamlab.serve(streamlab.datasets.path("stocks"), port=0, speed=0)
    ...     src = streamlab.from_tcp("127.0.0.1", server.port, reconnect=False)
    ...     [stats] = await streamlab.arun(src)
    ...     await server.stop()
    ...     return stats.rows
    >>> asyncio.run(main())
    12154
    """
    server = ReplayServer(
        path,
        host=host,
        port=port,
        speed=speed,
        time_column=time_column,
        loop=loop,
        format=format,
        clock=clock,
        **parse_options,
    )
    return await server.start()
