"""Replaying a recorded file with its original timing, at any speed."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.batch import ARRIVAL_TIME
from ..core.checks import check_choice, check_number
from ..errors import ConfigError
from ..parse import DEFAULT_MAX_RECORD, FORMATS, LineFramer, format_for_path, make_parser
from .paced import PacedSource
from .stored import StoredReplay, is_stored

__all__ = ["Replay", "replay"]
_CHUNK = 1 << 20


_GZIP = b"\x1f\x8b"  # the first two bytes of every gzip member


def _is_gzip(f: io.BufferedIOBase) -> bool:
    """Whether the open file ``f`` starts like gzip (left at its start)."""
    magic = f.read(2)
    f.seek(0)
    return magic == _GZIP


def _wrap(raw: io.BufferedIOBase) -> Any:
    """``raw`` read through gzip when it is gzip (``raw`` stays where progress can see it)."""
    return gzip.GzipFile(fileobj=raw, mode="rb") if _is_gzip(raw) else nullcontext(raw)


def _stream_size(path: Path) -> tuple[int, bool]:
    """The bytes a file holds once decompressed, and whether that is known for sure: the
    file's size, or a gzip file's trailer (ISIZE: the size of its last member modulo 2**32),
    trusted only where it cannot be that modulo (below 4 GiB and at least the compressed
    size; several members still make it wrong, which :attr:`Replay.progress` notices)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if not _is_gzip(f):
            return size, True
        f.seek(max(0, size - 4))
        isize = int.from_bytes(f.read(4), "little")
    return (isize, True) if isize >= size - 64 else (size, False)


class Replay(PacedSource):
    """A file replayed as a stream (see :func:`replay`)."""

    def __init__(
        self,
        path,
        *,
        time_column,
        speed,
        format,
        loop,
        max_rows,
        max_record,
        parse_options,
        stream_name,
        clock=None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            hint = "it does not exist" if not self.path.exists() else "it is not a file"
            raise ConfigError(
                f"cannot replay {str(path)!r}: {hint}; give the path of a CSV, "
                "JSONL, text or syslog file (optionally .gz)",
                param="path",
                value=path,
            )
        fmt = format or format_for_path(self.path)
        if fmt is None:
            raise ConfigError(
                f"cannot tell the format of {self.path.name!r} from its name; pass "
                f"format= one of {', '.join(map(repr, FORMATS))}",
                param="format",
                value=None,
            )
        self.format = check_choice("format", fmt, FORMATS)
        if self.format == "csv" and str(self.path).lower().removesuffix(".gz").endswith(".tsv"):
            parse_options.setdefault("delimiter", "\t")
        if time_column is None and self.format in ("csv", "jsonl"):
            time_column = self._recording_column(parse_options)
        if self.format == "syslog":
            time_column = "time"
        super().__init__(
            speed=speed,
            time_column=time_column,
            max_rows=max_rows,
            stream_name=stream_name or f"replay({self.path.name!r})",
            clock=clock,
        )
        self.loop_forever = bool(loop)
        self.max_record = int(check_number("max_record", max_record, low=1, integer=True))
        self.parse_options = parse_options
        self.file_size = os.path.getsize(self.path)
        # size and position count the decompressed stream (a gzip file's rows, not its bytes)
        self.size, self._size_known = _stream_size(self.path)
        self.position = 0  # bytes of the (decompressed) stream read so far, this pass
        self._raw: io.BufferedIOBase | None = None  # the file on disk, while a pass reads it
        self._ended = False  # this pass has read the whole file
        self._pass_start = 0
        self.passes = 0
        make_parser(self.format, **self._options())  # bad options fail here, not later

    def _options(self) -> dict:
        opts = dict(self.parse_options)
        if self.format != "syslog":
            opts["time_column"] = self.time_column
        return opts

    def _recording_column(self, parse_options: dict[str, Any]) -> str | None:
        """:data:`~streamlab.core.batch.ARRIVAL_TIME` if the file is a recording (it has that
        column: ``streamlab record`` writes it), else ``None``."""
        columns = parse_options.get("columns")
        if columns is None:
            with open(self.path, "rb") as raw, _wrap(raw) as f:
                head = f.readline(4096)
            if self.format == "jsonl":
                return ARRIVAL_TIME if f'"{ARRIVAL_TIME}"'.encode() in head else None
            columns = [c.strip() for c in head.decode("utf-8", "replace").split(",")]
        return ARRIVAL_TIME if ARRIVAL_TIME in columns else None

    def _frames(self) -> Iterator:
        shift = pd.Timedelta(0)
        while True:
            first = last = None
            rows = 0
            for df, nbytes, bad in self._one_pass():
                if df is not None and self.time_column is not None:
                    col = df[self.time_column]
                    first = col.iloc[0] if first is None else first
                    last = col.iloc[-1]
                    rows += len(df)
                    if shift:
                        df[self.time_column] = col + shift
                yield df, nbytes, bad
            self.passes += 1
            if not self.loop_forever or self.stopped:
                return
            if first is not None:  # event time keeps increasing from one pass to the next
                span = last - first
                shift += span + (span / max(rows - 1, 1))

    def _one_pass(self) -> Iterator:
        origin = str(self.path)
        framer = LineFramer(max_record=self.max_record, origin=origin)
        parser = make_parser(self.format, **self._options())
        self.position, self._ended = 0, False
        self._pass_start = self.stats.bytes  # bytes of the rows emitted before this pass
        with open(self.path, "rb") as raw, _wrap(raw) as f:
            self._raw = raw
            while not self.stopped:
                data = f.read(_CHUNK)
                if not data:
                    break
                self.position += len(data)
                pieces, bad = framer.push(data)
                df, more = parser.parse_pieces(pieces, origin=origin)
                self.stats.schema_changes = parser.schema_changes
                if df is not None:
                    df.attrs["origin"] = origin
                yield df, len(data), bad + more
            self._ended = not self.stopped
            tail, bad = framer.finish(at_eof=True)
            df, more = parser.parse(tail, origin=origin, offset=framer.offset - len(tail) + 1)
            if df is not None:
                df.attrs["origin"] = origin
            yield df, 0, bad + more

    @property
    def progress(self) -> float:
        """Fraction of the file replayed in this pass: the bytes of the rows emitted so far
        (not read ahead) over the decompressed size (a gzip file's trailer tells it). Where the
        trailer cannot tell (several members, 4 GiB or more), the compressed bytes consumed
        over the file's size instead. 1.0 once the pass has emitted the whole file.

        Examples
        --------
        >>> import streamlab
        >>> from streamlab import datasets
        >>> src = streamlab.replay(datasets.path("sea_temperature"), speed=0)
        >>> src.size > 2 * src.file_size  # gzip: the decompressed size, from the trailer
        True
        >>> src.progress
        0.0
        """
        if self._ended:
            return 1.0
        emitted = self.stats.bytes - self._pass_start
        if self._size_known and self.size:
            return min(emitted / self.size, 1.0)
        raw = self._raw
        if raw is None or raw.closed or not self.file_size:
            return 0.0
        return min(raw.tell() / self.file_size, 0.999)


def replay(
    path,
    *,
    time_column: str | None = None,
    speed: float = 1.0,
    format: str | None = None,
    loop: bool = False,
    max_rows: int = 100_000,
    max_record: int = DEFAULT_MAX_RECORD,
    table: str | None = None,
    start=None,
    end=None,
    stream_name: str | None = None,
    clock=None,
    **parse_options,
) -> Replay:
    """Replay a CSV, JSONL, text or syslog file (gzip or not) as a stream of batches.

    Paced by ``time_column``: ``speed=1`` reproduces the recorded gaps, ``speed=10`` is ten
    times faster, ``speed=0`` as fast as possible. Without a time column the rows go as fast
    as possible, in batches of at most ``max_rows``; a file written by ``streamlab record``
    is paced by its ``arrival_time`` column unless told otherwise. With ``loop=True`` the file
    plays again and again, its event times shifted so that they keep increasing. The pace is
    read from ``clock`` (the event loop's by default; a test passes a ``ManualClock``).
    Other keyword arguments go to the parser (``columns=``, ``dtypes=``, ``time_unit=``...).

    SQLite files (``.db``) written by ``to_sqlite``/``record`` and Parquet files or folders
    replay too (``table=`` picks the table; a recording's default is ``recording``), and
    ``start=``/``end=`` seek through their time index instead of scanning.

    Examples
    --------
    >>> import streamlab, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("time,x\\n2026-01-01T00:00:00Z,1\\n2026-01-01T00:00:00.010Z,oops\\n"
    ...                  "2026-01-01T00:00:00.020Z,3\\n")
    >>> src = streamlab.replay(p, time_column="time", speed=0, dtypes={"x": "int64"})
    >>> rows, bad = src.sink_to_list(), src.errors.sink_to_list()
    >>> _ = streamlab.run(src)
    >>> rows[0]["x"].tolist(), bad[0]["reason"].tolist(), src.stats.bad
    ([1, 3], ["column 'x': 'oops' is not a valid int64"], 1)
    """
    kind = is_stored(Path(path))
    if kind is not None:
        if parse_options:
            raise ConfigError(
                f"{sorted(parse_options)} are parser options; a stored {kind} "
                "replay has no parser: drop them",
                param=sorted(parse_options)[0],
                value=parse_options[sorted(parse_options)[0]],
            )
        return StoredReplay(
            path,
            kind,
            table=table,
            time_column=time_column,
            speed=speed,
            start=start,
            end=end,
            loop=loop,
            max_rows=max_rows,
            stream_name=stream_name,
            clock=clock,
        )
    if table is not None or start is not None or end is not None:
        raise ConfigError(
            "table=, start= and end= are for stored replays (SQLite .db files, "
            "Parquet); for a text file filter the stream instead",
            param="table" if table is not None else "start" if start is not None else "end",
            value=table if table is not None else start if start is not None else end,
        )
    return Replay(
        path,
        time_column=time_column,
        speed=speed,
        format=format,
        loop=loop,
        max_rows=max_rows,
        max_record=max_record,
        parse_options=parse_options,
        stream_name=stream_name,
        clock=clock,
    )
