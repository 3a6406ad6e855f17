"""Shared test helpers: bounded waits on the running loop, real loopback servers."""

from __future__ import annotations

import asyncio
import os

import pandas as pd

from streamlab.core.clock import wait_until  # noqa: F401  (tests import it from here)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class LineServer:
    """A real asyncio TCP server on loopback that sends each connecting client the next script
    entry: a list of byte strings written in order, then the connection is closed."""

    def __init__(self, scripts: list[list[bytes]]) -> None:
        self.scripts = list(scripts)
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        script = self.scripts.pop(0) if self.scripts else []
        for part in script:
            writer.write(part)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def start(self, port: int = 0) -> LineServer:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def rows_of(batches) -> list[dict]:
    return [r for df in batches for r in df.to_dict("records")]


def parse_all(parser, batches, origin="test"):
    """Parse ``batches`` in order (offsets running on); return (frames, dead letter tuples)."""
    frames, dead, pos = [], [], 0
    for data in batches:
        df, bad = parser.parse(data, origin=origin, offset=pos)
        pos += len(data)
        assert all(d.origin == origin for d in bad)
        dead += [(d.raw, d.reason, d.offset) for d in bad]
        if df is not None:
            assert len(df) and df.index.equals(pd.RangeIndex(len(df)))
            frames.append(df)
    return frames, dead


class Kernel:
    """A real ipykernel; ``run(code, cell_id)`` sends an execute request the way JupyterLab
    does (with the cell's id in the metadata); ``value(expr)`` evaluates in it."""

    def __init__(self) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3")
        self._out: list = []

    def run(self, code: str, cell_id: str) -> dict:
        msg = self.kc.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata={"cellId": cell_id},
        )
        self.kc.shell_channel.send(msg)
        reply = self.kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply

    def value(self, expr: str):
        reply = self.kc.execute_interactive(
            f"print(repr({expr}))", timeout=60, output_hook=self._out.append
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        texts = [m["content"]["text"] for m in self._out if m["msg_type"] == "stream"]
        self._out.clear()
        return eval(texts[-1])

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
