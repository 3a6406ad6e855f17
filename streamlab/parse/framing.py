"""Cutting a byte stream into complete newline-terminated records, with a maximum record length.

The framer never hands a parser half a record. Bytes after the last newline wait for more
data; at the end of a file they are a final record, but at the end of a connection they are a
record cut by the disconnect (a dead letter). A record longer than ``max_record`` bytes is cut
out as a dead letter (its first 64 KiB kept) and the framer skips to the next newline, so one
runaway producer cannot exhaust memory.

A parser that finds a bad row later (a value of the wrong type) gets its raw record back from
a :class:`LineSource`, which looks for line boundaries only then, once per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.deadletter import MAX_RAW_KEPT, DeadLetter

__all__ = [
    "DEFAULT_MAX_RECORD",
    "LineFinder",
    "LineFramer",
    "LineSource",
    "line_bounds",
    "lines_at",
    "split_lines",
]

#: Default maximum record length in bytes (1 MiB).
DEFAULT_MAX_RECORD = 1 << 20


def split_lines(data: bytes, offset: int) -> list[tuple[bytes, int]]:
    """Split newline-terminated ``data`` into ``(line_without_newline, stream_offset)`` pairs.

    The slow path of every parser uses this; the fast paths never loop over rows in Python.

    Examples
    --------
    >>> split_lines(b"a,1\\nbb,2\\n", 100)
    [(b'a,1', 100), (b'bb,2', 104)]
    """
    out = []
    pos = 0
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        out.append((line, offset + pos))
        pos += len(line) + 1
    return out


def line_bounds(data: bytes, blank: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the lines of ``data`` (an end excludes its newline; a last line
    without one counts), without the lines made only of ``blank`` bytes when it is given.
    Vectorised: only lines that start with a blank byte are looked at one by one.

    Examples
    --------
    >>> [a.tolist() for a in line_bounds(b"a,1\\n  \\nbb,2\\n\\ncc", blank=b" \\t\\r")]
    [[0, 7, 13], [3, 11, 15]]
    """
    arr = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(arr == 10)
    if len(arr) and arr[-1] != 10:
        ends = np.append(ends, len(arr))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    if blank is None or not len(starts):
        return starts, ends
    first = arr[np.minimum(starts, max(len(arr) - 1, 0))]
    maybe = (starts == ends) | np.isin(first, np.frombuffer(blank, np.uint8))
    keep = np.ones(len(starts), bool)
    for i in np.flatnonzero(maybe).tolist():
        keep[i] = bool(data[starts[i] : ends[i]].strip(blank))
    return starts[keep], ends[keep]


class LineFramer:
    """Stateful newline framer for one byte stream (one file or one connection).

    Examples
    --------
    >>> f = LineFramer(max_record=8, origin="test")
    >>> f.push(b"ab\\ncd")
    ([(b'ab\\n', 0)], [])
    >>> f.push(b"e\\n0123456789")   # 'cde' completes; the 10-byte tail is already too long
    ([(b'cde\\n', 3)], [])
    >>> pieces, bad = f.push(b"xyz\\nok\\n")
    >>> pieces, [(b.reason, b.offset, b.size) for b in bad]
    ([(b'ok\\n', 21)], [('record of 13 bytes is longer than max_record=8 bytes', 7, 13)])
    >>> f.push(b"1\\n" + b"x" * 9 + b"\\n2\\n")  # cut from the middle: two pieces, exact offsets
    ([(b'1\\n', 24), (b'2\\n', 36)], [DeadLetter(raw=b'xxxxxxxxx', reason='record of 9 bytes is longer than max_record=8 bytes', origin='test', offset=26, size=9, time=...)])
    >>> f.push(b"tail"), f.finish(at_eof=False)[1][0].reason
    (([], []), 'connection closed in the middle of a record (4 bytes without a newline)')
    """

    def __init__(self, *, max_record: int = DEFAULT_MAX_RECORD, origin: str = "") -> None:
        self.max_record = max_record
        self.origin = origin
        self.offset = 0  # stream offset of self._buf[0]
        self._buf = bytearray()
        self._skipping = False
        self._skip_head = b""
        self._skip_start = 0
        self._skip_size = 0

    @property
    def buffered(self) -> int:
        """Bytes held waiting for a newline."""
        return len(self._buf)

    def _oversized(self, raw: bytes, start: int, size: int) -> DeadLetter:
        return DeadLetter(
            raw=raw,
            reason=f"record of {size} bytes is longer than max_record={self.max_record} bytes",
            origin=self.origin,
            offset=start,
            size=size,
        )

    def _begin_skip(self) -> None:
        self._skipping = True
        self._skip_head = bytes(self._buf[:MAX_RAW_KEPT])
        self._skip_start = self.offset
        self._skip_size = len(self._buf)
        self.offset += len(self._buf)
        self._buf.clear()

    def push(self, data: bytes) -> tuple[list[tuple[bytes, int]], list[DeadLetter]]:
        """Add bytes; return ``(pieces, dead_letters)``.

        ``pieces`` are runs of complete records, each ``(bytes, stream_offset_of_its_start)``:
        usually one, none while a record is incomplete, and more than one only when an
        oversized record was cut out of the middle (so every row's offset stays exact)."""
        chunk, start, bad = self._push(data)
        if not chunk:
            return [], bad
        if len(chunk) > self.max_record + 1 and self._has_long_line(chunk):
            pieces, more = self._cut_long_lines(chunk, start)
            return pieces, bad + more
        return [(chunk, start)], bad

    def _push(self, data: bytes) -> tuple[bytes, int, list[DeadLetter]]:
        buf = self._buf
        bad: list[DeadLetter] = []
        if not buf and not self._skipping and data.endswith(b"\n"):
            start = self.offset  # the common case on a fast stream: no copy at all
            self.offset += len(data)
            return data, start, bad
        buf += data
        if self._skipping:
            i = buf.find(b"\n")
            room = MAX_RAW_KEPT - len(self._skip_head)
            if room > 0:  # keep the record's first bytes, not only those buffered when cut
                self._skip_head += bytes(buf[: min(room, len(buf) if i < 0 else i)])
            if i < 0:
                self._skip_size += len(buf)
                self.offset += len(buf)
                buf.clear()
                return b"", self.offset, bad
            self._skip_size += i + 1
            bad.append(self._oversized(self._skip_head, self._skip_start, self._skip_size - 1))
            del buf[: i + 1]
            self.offset += i + 1
            self._skipping = False
        end = buf.rfind(b"\n")
        if end < 0:
            if len(buf) > self.max_record:
                self._begin_skip()
            return b"", self.offset, bad
        chunk = bytes(buf[: end + 1])
        start = self.offset
        del buf[: end + 1]
        self.offset += end + 1
        if len(buf) > self.max_record:
            self._begin_skip()
        return chunk, start, bad

    def _has_long_line(self, chunk: bytes) -> bool:
        """True if some line is longer than ``max_record``: every window of that many bytes
        must hold a newline. Each probe jumps about ``max_record`` bytes ahead."""
        pos, limit = 0, self.max_record
        while pos + limit < len(chunk):
            k = chunk.rfind(b"\n", pos, pos + limit + 1)
            if k < 0:
                return True
            pos = k + 1
        return False

    def _cut_long_lines(self, chunk: bytes, start: int):
        ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        bad, pieces, pos = [], [], 0
        for i in np.flatnonzero(ends - starts > self.max_record).tolist():
            s, e = int(starts[i]), int(ends[i])
            if s > pos:
                pieces.append((chunk[pos:s], start + pos))
            bad.append(self._oversized(chunk[s : min(e, s + MAX_RAW_KEPT)], start + s, e - s))
            pos = e + 1
        if pos < len(chunk):
            pieces.append((chunk[pos:], start + pos))
        return pieces, bad

    def finish(self, *, at_eof: bool) -> tuple[bytes, list[DeadLetter]]:
        """End of stream. At the end of a file the unterminated tail is a last record (returned
        with a newline added); at the end of a connection it is a cut record (a dead letter)."""
        bad: list[DeadLetter] = []
        if self._skipping:
            bad.append(self._oversized(self._skip_head, self._skip_start, self._skip_size))
            self._skipping = False
        tail = bytes(self._buf)
        start = self.offset
        self.offset += len(tail)
        self._buf.clear()
        if not tail:
            return b"", bad
        if at_eof:
            return tail + b"\n", bad
        bad.append(
            DeadLetter(
                raw=tail,
                reason="connection closed in the middle of a record "
                f"({len(tail)} bytes without a newline)",
                origin=self.origin,
                offset=start,
            )
        )
        return b"", bad


#: finds the raw line and stream offset of rows by their position (only for bad rows)
LineFinder = Callable[[list[int]], list[tuple[bytes, int]]]


class LineSource:
    """Finds the raw bytes and offsets of rows by their position, only when a row is bad."""

    def __init__(
        self, data: bytes, offset: int, *, offsets=None, skip_blank: bool = True, blank=b" \t\r"
    ) -> None:
        self.data = data
        self.offset = offset
        self.offsets = offsets  # stream offsets of the non-blank lines, when data was filtered
        self.skip_blank = skip_blank
        self.blank = blank  # a line of only these bytes is blank (no row)
        self._lines: list[tuple[bytes, int]] | None = None
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, pairs: list[tuple[bytes, int]]) -> LineSource:
        """A finder over rows already split into ``(raw_line, offset)`` pairs, one per row."""
        found = cls(b"", 0)
        found._lines = pairs
        return found

    def __call__(self, positions: list[int]) -> list[tuple[bytes, int]]:
        if self._lines is not None:
            return [self._lines[p] for p in positions]
        if self._bounds is None:  # once, vectorised: no Python loop over the rows
            self._bounds = line_bounds(self.data, self.blank if self.skip_blank else None)
        starts, ends = self._bounds
        found = []
        for p in positions:
            s, e = int(starts[p]), int(ends[p])
            at = int(self.offsets[p]) if self.offsets is not None else self.offset + s
            found.append((self.data[s:e].rstrip(b"\r") if self.skip_blank else self.data[s:e], at))
        return found


def lines_at(lines: Any, keep: Any) -> Any:
    """The line finder for the rows that survived a filter (``keep`` are their positions)."""
    if not callable(lines):
        return lines
    kept = np.asarray(keep)
    return lambda positions: lines([int(kept[p]) for p in positions])
