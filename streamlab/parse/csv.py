"""CSV records into batches: one ``read_csv`` call per batch, bad lines found without a row loop.

The fast path checks a whole batch with numpy (valid UTF-8, the delimiter count of every line)
and hands the good bytes to pandas' C parser in one call. Only a batch that holds a bad line
pays for a per-line look, and then only to say which line and why.
Records are newline-terminated; a quoted field may hold the delimiter but not a newline.
"""

from __future__ import annotations

import csv as _csv
import io
import warnings

import numpy as np
import pandas as pd

from ..core.deadletter import DeadLetter
from ..errors import ConfigError
from .base import Parser, _beyond_exact
from .framing import LineFinder, LineSource, split_lines
from .types import family, show


def _needs_text(kind: str, values: pd.Series) -> bool:
    """True if a column of type family ``kind`` must be read again as text (see ``_read``):
    a text column that came out numeric, an integer column that came out boolean, or as
    floats past 2**53, or mixed (read_csv types big batches chunk by chunk, and a float chunk
    may have lost digits). Floats and booleans are checked as read: pandas' float parser gives
    the same doubles as ``to_numeric`` of the text, and reasons quote the text anyway."""
    have = values.dtype
    if kind in ("text", "category"):
        return have.kind in "iufb"
    if kind != "int":
        return False
    return (
        have == np.dtype(object) or have.kind == "b" or (have.kind == "f" and _beyond_exact(values))
    )


__all__ = ["CsvParser"]


#: A CR is part of a line's end (CRLF, or CRs before the LF); one inside a record is an error
#: (read_csv would end the row there, the csv module would refuse it: one answer for both).
INNER_CR = "carriage return (\\r) inside a record; records end with \\n or \\r\\n"


def _inner_cr(arr: np.ndarray) -> np.ndarray:
    """Positions of CRs followed by something other than CR or LF."""
    cr = np.flatnonzero(arr == 13)
    nxt = arr[np.minimum(cr + 1, len(arr) - 1)]
    return cr[(nxt != 10) & (nxt != 13) & (cr + 1 < len(arr))]


#: The texts read_csv reads as missing by default (its documented ``na_values``).
READ_CSV_NA = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip


def _utf8_problem(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    return None


class CsvParser(Parser):
    """Parse CSV lines. With ``columns=None`` the first line of each stream is the header.

    Examples
    --------
    >>> p = CsvParser(dtypes={"x": "float64"})
    >>> df, bad = p.parse(b"t,x\\n1,2.5\\n2,oops\\n3,1,9\\n", origin="demo")
    >>> df
       t    x
    0  1  2.5
    >>> [(b.raw, b.reason, b.offset) for b in bad]
    [(b'2,oops', "column 'x': 'oops' is not a valid float64", 10), (b'3,1,9', 'expected 2 fields, saw 3', 17)]
    """

    format = "csv"

    def __init__(
        self,
        *,
        columns: list[str] | None = None,
        header: bool | None = None,
        delimiter: str = ",",
        **options,
    ) -> None:
        super().__init__(**options)
        if len(delimiter) != 1 or delimiter in '\r\n"':
            raise ConfigError(
                f"delimiter must be one character other than a quote or newline, not {delimiter!r}",
                param="delimiter",
                value=delimiter,
            )
        if columns is not None:
            columns = [str(c) for c in columns]
            if len(set(columns)) != len(columns):
                raise ConfigError(
                    f"columns must be unique, not {columns}", param="columns", value=columns
                )
        if header is False and columns is None:
            raise ConfigError(
                "header=False needs the column names: no line of the data names them",
                param="columns",
                value=None,
                hint="pass columns=['time', 'value'] (or leave header= unset)",
            )
        self.names: list[str] | None = columns
        # header=None: a header line is expected exactly when no columns were given
        self._skip_header = columns is None if header is None else bool(header)
        self.delimiter = delimiter
        self._delim_byte = ord(delimiter)
        # a line of only these is blank and skipped, as read_csv skips it (the delimiter
        # itself is never blank: "\t\t" with delimiter="\t" is a row of empty fields)
        self._blank = bytes(b for b in b" \t\r" if b != self._delim_byte)

    @property
    def _columns(self) -> list[str]:
        """The column names, once known (given as ``columns=``, or read from the header)."""
        assert self.names is not None, "a batch is parsed only once the columns are known"
        return self.names

    def _take_header(self, data: bytes, offset: int, origin: str, bad: list[DeadLetter]):
        while data:
            nl = data.find(b"\n")
            nl = len(data) if nl < 0 else nl  # an unterminated last line must not loop forever
            line, data, start = data[:nl].rstrip(b"\r"), data[nl + 1 :], offset
            offset += nl + 1
            if not line.strip(self._blank):
                continue
            self._skip_header = False
            if self.names is not None:
                return data, offset  # a header we were told to skip
            problem = INNER_CR if b"\r" in line else _utf8_problem(line)
            if problem is None:
                try:
                    names = next(
                        _csv.reader(
                            [line.decode("utf-8-sig")], delimiter=self.delimiter, strict=True
                        )
                    )
                except _csv.Error as exc:
                    problem = f"malformed CSV: {exc}"
                else:
                    names = [n.strip() for n in names]
                    if names and all(names) and len(set(names)) == len(names):
                        self.names = names
                        return data, offset
                    problem = f"header must name each column once, not {show(names)}"
            bad.append(
                DeadLetter(raw=line, reason=f"bad header: {problem}", origin=origin, offset=start)
            )
            self._skip_header = True
        return data, offset

    def _parse(
        self, data: bytes, origin: str, offset: int
    ) -> tuple[pd.DataFrame | None, LineFinder | None, list[DeadLetter]]:
        bad: list[DeadLetter] = []
        if self._skip_header:
            data, offset = self._take_header(data, offset, origin, bad)
            if not data or self.names is None:
                return None, None, bad
        # Fast path: one read_csv call, and no pass over the bytes of our own. A line with
        # too many fields makes read_csv raise, invalid UTF-8 too; a line with too few leaves
        # a NaN in the last column (or, on the first line, the wrong number of columns, see
        # _read_csv); a stray quote changes the row count. Any of these (or a legitimately
        # empty last field) sends the batch down the exact path below.
        try:
            df = self._read(data)
        except (pd.errors.ParserError, ValueError):
            df = None
        if (
            df is not None
            and not df[self._columns[-1]].isna().any()
            and (b'"' not in data or len(df) == data.count(b"\n") - data.count(b"\n\n"))
            and not (b"\r" in data and _inner_cr(np.frombuffer(data, np.uint8)).size)
        ):
            return df, self._lines(data, offset), bad
        good, offsets = self._check(data, offset, origin, bad)
        if not good.strip():
            return None, None, bad
        return self._read(good), self._lines(good, offset, offsets), bad

    def _read(self, data: bytes) -> pd.DataFrame:
        """One read_csv call with pandas' own type inference (the fastest way in: asking for
        ``dtype=str`` up front costs 40% here). A column that came out as something its type
        must not be read from is read again as text, so the type check sees the text as
        written (and a reason quotes it): '007' read as 7 in a text column, ``true`` read as
        a boolean in an integer column, or an integer column past 2**53 read as floats
        because of a missing value (floats lose digits there). That second read happens only
        in such batches."""
        df = self._read_csv(data, None)
        wrong = [
            c
            for c, kind in self._families().items()
            if c in df.columns and _needs_text(kind, df[c])
        ]
        if wrong:
            df = self._read_csv(data, dict.fromkeys(wrong, object))
        return df

    def _read_csv(self, data: bytes, dtype: dict | None) -> pd.DataFrame:
        # No names=: given names, read_csv silently turns the extra leading fields of a too-long
        # first line into the index. Without, the first line sets the column count; check it.
        with warnings.catch_warnings():
            # read_csv types a big batch chunk by chunk; where chunks disagree it warns and
            # gives a column of mixed values, which the type checks then read as text (so
            # the answer does not depend on the chunks). low_memory=False would cost 6-10%.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            df = pd.read_csv(
                io.BytesIO(data),
                header=None,
                sep=self.delimiter,
                engine="c",
                skip_blank_lines=True,
                dtype=dtype and {self._columns.index(c): t for c, t in dtype.items()},
            )
        if df.shape[1] != len(self._columns):
            raise pd.errors.ParserError(f"expected {len(self._columns)} fields, saw {df.shape[1]}")
        df.columns = self._columns
        return df

    def _as_text(self, column: str, rows: np.ndarray, lines) -> pd.Series | None:
        """``column`` of the bad ``rows`` as written: their own lines, split again (only the
        bad rows: a reason quotes the field, whatever type the rest of the batch gave it)."""
        if not callable(lines):
            return None
        at = self._columns.index(column)
        try:
            fields = [
                next(_csv.reader([raw.decode("utf-8")], delimiter=self.delimiter))[at]
                for raw, _ in lines(rows.tolist())
            ]
        except (_csv.Error, IndexError, UnicodeDecodeError):  # the reasons as first found
            return None
        # what read_csv reads as missing stays missing
        return pd.Series(fields, dtype=object).where(lambda f: ~f.isin(READ_CSV_NA), None)

    def _families(self) -> dict[str, str]:
        """The type family of each column the schema (or ``dtypes=``) knows."""
        return {c: family(d) for c, d in {**(self.schema or {}), **self._given}.items()}

    def _check(
        self, data: bytes, offset: int, origin: str, bad: list[DeadLetter]
    ) -> tuple[bytes, np.ndarray | None]:
        """Drop lines with the wrong field count or invalid UTF-8 (as dead letters).

        Returns the good bytes and, when lines were removed, the stream offset of each kept
        non-blank line (``None`` means the good bytes are ``data`` itself)."""
        arr = np.frombuffer(data, np.uint8)
        ascii_only = not len(arr) or int(arr.max()) < 128
        if not ascii_only or b'"' in data:
            return self._check_slow(data, offset, origin, bad)
        ends = np.flatnonzero(arr == 10)
        delims = np.flatnonzero(arr == self._delim_byte)
        per_line = np.diff(np.searchsorted(delims, ends), prepend=0)
        starts = np.concatenate(([0], ends[:-1] + 1))
        wrong: np.ndarray = per_line != len(self._columns) - 1
        blank = np.zeros(len(ends), bool)  # a blank line has no delimiter: it is among `wrong`
        for i in np.flatnonzero(wrong).tolist():
            blank[i] = not data[starts[i] : ends[i]].strip(self._blank)
        wrong &= ~blank
        has_cr = np.zeros(len(ends), bool)
        if b"\r" in data:
            has_cr[np.searchsorted(ends, _inner_cr(arr))] = True
            wrong |= has_cr
        if not wrong.any():
            return data, None
        parts, pos = [], 0
        for i in np.flatnonzero(wrong).tolist():
            s, e = int(starts[i]), int(ends[i])
            parts.append(data[pos:s])
            bad.append(
                DeadLetter(
                    raw=data[s:e].rstrip(b"\r"),
                    reason=INNER_CR
                    if has_cr[i]
                    else f"expected {len(self._columns)} fields, saw {int(per_line[i]) + 1}",
                    origin=origin,
                    offset=offset + s,
                )
            )
            pos = e + 1
        parts.append(data[pos:])
        return b"".join(parts), offset + starts[~wrong & ~blank]

    def _check_slow(
        self, data: bytes, offset: int, origin: str, bad: list[DeadLetter]
    ) -> tuple[bytes, np.ndarray]:
        keep, offsets = [], []
        n = len(self._columns)
        for line, off in split_lines(data, offset):
            body = line.rstrip(b"\r")
            if not body.strip(self._blank):
                continue
            problem = INNER_CR if b"\r" in body else _utf8_problem(body)
            if problem is None:
                try:
                    fields = next(
                        _csv.reader([body.decode("utf-8")], delimiter=self.delimiter, strict=True)
                    )
                except _csv.Error as exc:
                    problem = f"malformed CSV: {exc}"
                else:
                    if len(fields) != n:
                        problem = f"expected {n} fields, saw {len(fields)}"
            if problem is None:
                keep.append(body)
                offsets.append(off)
            else:
                bad.append(DeadLetter(raw=body, reason=problem, origin=origin, offset=off))
        return (b"\n".join(keep) + b"\n" if keep else b""), np.asarray(offsets, dtype=np.int64)

    def _lines(self, data: bytes, offset: int, offsets=None) -> LineSource:
        return LineSource(data, offset, offsets=offsets, blank=self._blank)
