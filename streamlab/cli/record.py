"""``streamlab record``: capture a live stream to a file, each row with its arrival time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from ..parse import format_for_path
from ..parse.serialize import header_bytes, to_bytes
from ..sources.replay import RECORDING_TIME_COLUMN

__all__ = ["record"]


async def record(source, out, *, seconds: float | None = None, rows: int | None = None) -> int:
    """Write what ``source`` emits to ``out`` (CSV or JSONL by suffix), with an
    ``arrival_time`` column first, until ``seconds`` pass or ``rows`` rows arrived.
    Each batch is written and flushed as it arrives. Returns the rows written."""
    out = Path(out)
    fmt = format_for_path(out)
    if fmt not in ("csv", "jsonl"):
        raise ConfigError(
            f"--out must end in .csv or .jsonl (optionally .gz is not supported "
            f"for recording), not {out.name!r}"
        )
    if not out.parent.is_dir():
        raise ConfigError(
            f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not "
            "exist; create it first or choose another --out"
        )
    written = 0
    done = asyncio.Event()
    with out.open("wb") as f:
        header = [fmt == "csv"]

        def write(df: pd.DataFrame) -> None:
            nonlocal written
            if rows is not None and written >= rows:
                return
            if rows is not None:
                df = df.iloc[: rows - written]
            arrival = pd.Timestamp(time.time(), unit="s", tz="UTC")
            df = df.copy()
            df.insert(0, RECORDING_TIME_COLUMN, arrival)
            if header[0]:
                f.write(header_bytes(df, "csv"))
                header[0] = False
            f.write(to_bytes(df, fmt))
            f.flush()
            written += len(df)
            if rows is not None and written >= rows:
                done.set()

        source.sink(write)
        source.start()
        waiter = asyncio.ensure_future(source.wait())
        stopper = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait(
                [waiter, stopper], timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            source.stop()
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    return written
