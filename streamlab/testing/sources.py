"""The conformance battery for sources: real bytes through the real transport.

A :class:`SourceCase` holds the bytes a producer sends (a file's contents, what a TCP peer
writes, UDP datagrams), the source's options, and the answer: the rows pandas reads from the
good records (with the declared types) and the dead letters the bad ones must become. Checks:

- ``reference``: rows and dead letters equal the answer, dtypes included, in every batch;
- ``cuts``: the same answer however the bytes arrive (one write, small random writes, one
  record per datagram or many; for files, batches of 1 row, 7 rows or the default);
- ``attrs``: every batch names its time column and where it came from;
- ``restart``: the source started again gives the same answer;
- ``released``: after the source stops, its sockets and files are closed and it is
  garbage-collected.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.runner import arun
from .frames import explain_difference
from .harness import collected

__all__ = ["SOURCE_CHECKS", "SourceCase", "run_source_check"]


@dataclass(frozen=True)
class SourceCase:
    """One source fed ``payload`` (see the module docstring).

    ``kind``: ``"replay"`` (a file named ``name`` + ``suffix``), ``"replay.gz"``,
    ``"from_tcp"`` (a real server writes the payload to each connection), ``"listen_tcp"`` (a
    real client connects and writes it), ``"from_udp"`` (datagrams, one record each or
    ``per_datagram``), ``"serve"`` (read back by a raw socket client), ``"generate"`` (no
    payload: ``options`` are generate's), ``"stored"`` (``write(path)`` makes the file)."""

    name: str
    kind: str
    payload: bytes
    options: dict
    #: the rows pandas reads from the good records; ``None``: no fixed answer (the batches
    #: must then only agree with one another: generated data, syslog checked elsewhere)
    rows: pd.DataFrame | None
    dead: tuple[tuple[bytes, str], ...] = ()
    suffix: str = ".csv"
    write: Callable[[Path], None] | None = None
    not_applicable: dict[str, str] = field(default_factory=dict)


class _Run:
    """One run's batches, dead letters and the source."""

    def __init__(self) -> None:
        self.batches: list[pd.DataFrame] = []
        self.dead: list[pd.DataFrame] = []
        self.source: Any = None

    def rows(self) -> pd.DataFrame | None:
        got = [b for b in self.batches if len(b)]
        return pd.concat(got, ignore_index=True) if got else None

    def letters(self) -> list[tuple[bytes, str]]:
        return sorted(
            (bytes(raw), reason)
            for d in self.dead
            for raw, reason in zip(d["raw"], d["reason"], strict=True)
        )


async def _wait(predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout  # only bounds a hang
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the source to take every record")
        await asyncio.sleep(0.005)


def _chunks(payload: bytes, how: str, seed: int = 0) -> list[bytes]:
    if how == "one":
        return [payload]
    rng = np.random.default_rng(seed)
    cuts, pos = [], 0
    while pos < len(payload):
        step = int(rng.integers(1, 64))
        cuts.append(payload[pos : pos + step])
        pos += step
    return cuts


async def _serve_once(chunks: list[bytes]):
    """A real loopback server writing ``chunks`` to each client, then closing."""

    async def handle(reader, writer):
        for c in chunks:
            writer.write(c)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def feed(case: SourceCase, tmp: Path, *, how: str = "one", source=None) -> _Run:
    """Run ``case``'s source over its payload delivered ``how``; return what came out.
    With ``source``, run that (already built) source again instead of a new one."""
    import streamlab

    run = _Run()
    expected = 0 if case.rows is None else len(case.rows)
    expected += len(case.dead)
    kind = case.kind
    server = None
    if source is None:
        if kind in ("replay", "replay.gz", "stored", "serve"):
            path = tmp / f"{abs(hash((case.name, how)))}{case.suffix}"
            if case.write is not None:
                case.write(path)
            elif kind == "replay.gz":
                path = path.with_name(path.name + ".gz")
                path.write_bytes(gzip.compress(case.payload))
            else:
                path.write_bytes(case.payload)
            rows = {"one": 100_000, "rows": 1, "some": 7}[how]
            if kind == "serve":  # what a client reads from the server, as from_tcp parses it
                server = await streamlab.serve(path, port=0, speed=0, **case.options)
                source = streamlab.from_tcp(
                    "127.0.0.1", server.port, reconnect=False, **case.options
                )
            else:
                source = streamlab.replay(path, speed=0, max_rows=rows, **case.options)
        elif kind == "generate":
            rows = {"one": 100_000, "rows": 1, "some": 7}[how]
            source = streamlab.generate(**{**case.options, "batch_rows": rows})
        elif kind == "from_tcp":
            server, port = await _serve_once(_chunks(case.payload, how))
            source = streamlab.from_tcp("127.0.0.1", port, reconnect=False, **case.options)
        elif kind == "listen_tcp":
            source = streamlab.listen_tcp(0, **case.options)
        elif kind == "from_udp":
            source = streamlab.from_udp(0, **case.options)
        else:
            raise ValueError(f"kind={kind!r}")
    run.source = source
    source.sink(run.batches.append)
    source.errors.sink(run.dead.append)

    def taken() -> int:
        return sum(map(len, run.batches)) + sum(map(len, run.dead))

    try:
        if kind in ("listen_tcp", "from_udp"):
            source.start()
            await _send(kind, source, case.payload, how)
            await _wait(lambda: taken() >= expected)
            source.stop()
            await source.wait()
        else:
            await arun(source)
    finally:
        if isinstance(server, asyncio.AbstractServer):
            server.close()
            await server.wait_closed()
        elif server is not None:  # a streamlab ReplayServer
            await server.stop()
    return run


async def _send(kind: str, source, payload: bytes, how: str) -> None:
    port = source.port
    if kind == "listen_tcp":
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for c in _chunks(payload, how):
            writer.write(c)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        return
    records = [r + b"\n" for r in payload.split(b"\n") if r]  # only LF ends a record
    per = {"one": len(records), "rows": 1, "some": 7}[how]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(0, len(records), per):
            sock.sendto(b"".join(records[i : i + per]), ("127.0.0.1", port))
            await asyncio.sleep(0)  # let the source read: loopback UDP drops only on a full buffer
    finally:
        sock.close()


def _answer(case: SourceCase, run: _Run, want: pd.DataFrame | None = None) -> list[str]:
    """What differs between a run and the case's answer (or ``want``, another run's rows)."""
    problems = []
    got = run.rows()
    if want is None and case.rows is not None:
        want = case.rows.reset_index(drop=True)
    elif want is None:  # no fixed answer: only the dead letters and the dtypes
        got = None
    if got is not None and want is not None and set(want.columns) <= set(got.columns):
        got = got[list(want.columns)]  # the answer's columns, in its order
    diff = explain_difference(got, want)
    if diff:
        problems.append(f"rows: {diff}")
    if run.batches:
        for i, b in enumerate(run.batches):
            if len(b) and dict(b.dtypes) != dict(run.batches[0].dtypes):
                problems.append(
                    f"batch {i} has dtypes {dict(b.dtypes)}, batch 0 {dict(run.batches[0].dtypes)}"
                )
                break
    letters = run.letters()
    if letters != sorted(case.dead):
        problems.append(f"dead letters {letters} != expected {sorted(case.dead)}")
    return problems


async def check_reference(case, tmp) -> list[str]:
    return _answer(case, await feed(case, tmp))


async def check_cuts(case, tmp) -> list[str]:
    problems = []
    one = None if case.rows is not None else (await feed(case, tmp)).rows()
    for how in ("rows", "some"):
        if f"cuts:{how}" in case.not_applicable:
            continue
        run = await feed(case, tmp, how=how)
        problems += [f"[{how}] {p}" for p in _answer(case, run, one)]
    return problems


async def check_attrs(case, tmp) -> list[str]:
    run = await feed(case, tmp, how="some")
    problems = []
    for i, b in enumerate(run.batches):
        if not (b.attrs.get("origin") or b.attrs.get("peer")):
            problems.append(f"batch {i} names neither origin nor peer: {b.attrs}")
        col = b.attrs.get("time_column")
        if col is not None and col not in b.columns:
            problems.append(f"batch {i}: time column {col!r} is not a column")
    return problems[:3]


async def check_restart(case, tmp) -> list[str]:
    if case.kind in ("from_tcp", "listen_tcp", "from_udp", "serve"):
        return []  # a live source started again sees new input: nothing to compare
    first = await feed(case, tmp)
    rows = first.rows()  # before the second run (the first run's sinks stay attached)
    first.batches, first.dead = [], []
    again = await feed(case, tmp, source=first.source)
    return [f"second start: {p}" for p in _answer(case, again, rows)]


async def check_released(case, tmp) -> list[str]:
    before = len(os.listdir("/proc/self/fd"))
    run = await feed(case, tmp)
    ref = weakref.ref(run.source)
    run.source = None
    del run

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    await collected(lambda: ref() is None and fds() <= before)
    problems = []
    if ref() is not None:
        problems.append("the stopped source is still alive")
    if fds() > before:
        problems.append(f"{fds() - before} more open file descriptors than before the run")
    return problems


SOURCE_CHECKS: dict[str, Callable] = {
    "reference": check_reference,
    "cuts": check_cuts,
    "attrs": check_attrs,
    "restart": check_restart,
    "released": check_released,
}


async def run_source_check(case: SourceCase, check: str, tmp: Path) -> None:
    problems = await SOURCE_CHECKS[check](case, tmp)
    if problems:
        raise AssertionError(f"check_source({case.name}): {check} failed: " + "; ".join(problems))
