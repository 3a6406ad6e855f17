"""Driving sources from a script: ``streamlab.run``; from async code: ``streamlab.arun``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..errors import ConfigError, StateError
from .checks import check_number
from .graph import sources_above
from .source import BatchSource
from .stats import Stats

__all__ = ["arun", "find_sources", "run"]


def find_sources(*streams: Any) -> list[BatchSource]:
    """The streamlab sources upstream of (or equal to) each given stream node, in order.

    Examples
    --------
    >>> from streamlab.sources.generate import generate
    >>> src = generate("sine", rows=10)
    >>> find_sources(src.map(len)) == [src]
    True
    """
    found = sources_above(*streams)
    if streams and not found:
        raise ConfigError(
            f"no streamlab source is upstream of {', '.join(map(str, streams))}; pass a source "
            "made by streamlab.replay/from_tcp/listen_tcp/from_udp/generate (or a node below one)"
        )
    return found


async def arun(*streams: Any, timeout: float | None = None) -> list[Stats]:
    """Start the sources behind ``streams``, wait until they end (or ``timeout`` seconds
    pass, after which they are stopped: a normal end for endless sources), then return their
    :class:`~streamlab.core.stats.Stats`. An error that stopped a source is raised.

    >>> import asyncio, streamlab
    >>> async def main():  # in a notebook: await streamlab.arun(src)
    ...     src = streamlab.generate("sine", rows=100)
    ...     [stats] = await streamlab.arun(src)
    ...     return stats.rows
    >>> asyncio.run(main())
    100
    """
    if timeout is not None:
        check_number(
            "timeout",
            timeout,
            low=0,
            low_open=True,
            fix="give the seconds to run, or None to run until the sources end",
        )
    sources = find_sources(*streams)
    for s in sources:
        s.start()
    try:
        waits = asyncio.gather(*(s.wait() for s in sources))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(waits, timeout)
    finally:
        for s in sources:
            s.stop()
        for s in sources:
            with contextlib.suppress(Exception):  # re-raised below from s.exception
                await s.wait()
    for s in sources:
        if s.exception is not None:
            raise s.exception
    return [s.stats for s in sources]


def run(*streams: Any, timeout: float | None = None) -> list[Stats]:
    """Run the sources behind ``streams`` to completion from a script (blocking).

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=1000, batch_rows=250)
    >>> sizes = src.map(len).sink_to_list()
    >>> [stats] = streamlab.run(src)
    >>> sizes, stats.rows
    ([250, 250, 250, 250], 1000)
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(*streams, timeout=timeout))
    raise StateError(
        "streamlab.run() blocks, and an event loop is already running here (Jupyter or async "
        "code): call source.start() instead, or `await streamlab.arun(...)`"
    )
