"""``streamlab record``: capture a live stream to a file, each row with its arrival time."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from ..errors import ConfigError
from ..parse import format_for_path
from ..parse.serialize import header_bytes, to_bytes
from ..store.recording import stamp_arrival

__all__ = ["record"]

_STORED = (".db", ".sqlite", ".sqlite3", ".parquet")


async def record(source, out, *, seconds: float | None = None, rows: int | None = None) -> int:
    """Write what ``source`` emits to ``out`` with an ``arrival_time`` column first, until
    ``seconds`` pass or ``rows`` rows arrived: CSV or JSONL (each batch appended and flushed),
    SQLite (``.db``: one transaction per batch, indexed on arrival time) or Parquet
    (``.parquet``). Returns the rows written."""
    out = Path(out)
    stored = out.name.lower().endswith(_STORED)
    fmt = None if stored else format_for_path(out)
    if not stored and fmt not in ("csv", "jsonl"):
        raise ConfigError(f"--out must end in .csv, .jsonl, .db or .parquet, not {out.name!r}")
    if not out.parent.is_dir():
        raise ConfigError(
            f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not "
            "exist; create it first or choose another --out"
        )
    written = 0
    done = asyncio.Event()

    def take(df):
        nonlocal written
        if rows is not None:
            df = df.iloc[: max(rows - written, 0)]
        written += len(df)
        if rows is not None and written >= rows:
            done.set()
        return df

    kept = source.map(take).filter(len)
    with contextlib.ExitStack() as stack:
        if stored:
            sink = kept.record(out)
        else:
            assert fmt is not None  # a text file: csv or jsonl (checked above)
            f = stack.enter_context(out.open("wb"))
            header = [fmt == "csv"]

            def write(df) -> None:
                df = stamp_arrival(df)
                if header[0]:
                    f.write(header_bytes(df, "csv"))
                    header[0] = False
                f.write(to_bytes(df, fmt))
                f.flush()

            sink = kept.sink(write)
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
            if hasattr(sink, "flush"):
                sink.flush()
            if hasattr(sink, "close"):
                sink.close()
    return written
