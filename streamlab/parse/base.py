"""What every parser shares: a stable schema across batches, the event-time column, dead letters.

A parser is stateful for one byte stream (one file or one connection): the CSV header, the
schema locked by the first batch and the unit of a numeric time column all persist. Parsers
receive only complete newline-terminated records (see :mod:`streamlab.parse.framing`).

Schema policy, stated once: the first batch fixes each column's dtype (or ``dtypes=`` does).
Later batches are converted to it. An integer column that meets a float is *widened* to
float64 (counted in ``schema_changes``); a value that cannot be converted (``"abc"`` in a
numeric column) sends its record to the dead letters with the column and value named.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.batch import with_time_column
from ..core.checks import check_choice
from ..core.deadletter import DeadLetter
from ..errors import ConfigError
from .framing import split_lines

__all__ = ["TIME_UNITS", "Parser"]

TIME_UNITS = ("s", "ms", "us", "ns")


def _infer_unit(values: np.ndarray) -> str:
    """Epoch unit from magnitude: 1.7e9 is seconds, 1.7e12 ms, 1.7e15 us, 1.7e18 ns.
    The (lower) median decides, so one wild value cannot change the unit of the whole stream."""
    finite = np.abs(values[np.isfinite(values)])
    mid = (len(finite) - 1) // 2
    top = float(np.partition(finite, mid)[mid]) if len(finite) else 0.0
    for unit, limit in (("s", 1e11), ("ms", 1e14), ("us", 1e17)):
        if top < limit:
            return unit
    return "ns"


def _whole(values) -> bool:
    """True if every value is a finite whole number (so the column can stay an integer)."""
    v = np.asarray(values, dtype="float64")
    return bool((np.isfinite(v) & (v == np.floor(v))).all())


class Parser:
    """Base class: subclasses implement :meth:`_parse` for one format."""

    format = ""

    def __init__(
        self,
        *,
        time_column: str | None = None,
        time_unit: str | None = None,
        time_format: str | None = None,
        dtypes: dict | None = None,
    ) -> None:
        if time_unit is not None:
            check_choice("time_unit", time_unit, TIME_UNITS)
        self.time_column = time_column
        self.time_unit = time_unit
        self.time_format = time_format
        self.dtypes = dict(dtypes) if dtypes else None
        self.schema: dict[str, np.dtype] | None = None
        self.schema_changes = 0

    # -- the one public call -------------------------------------------------------------
    def parse(
        self, data: bytes, *, origin: str, offset: int = 0
    ) -> tuple[pd.DataFrame | None, list[DeadLetter]]:
        """Parse complete records; return the batch (``None`` if no good row) and dead letters."""
        if not data:
            return None, []
        df, lines, bad = self._parse(data, origin, offset)
        df = self._finish(df, lines, bad, origin)
        bad.sort(key=lambda d: -1 if d.offset is None else d.offset)
        return df, bad

    def parse_pieces(
        self, pieces: list[tuple[bytes, int]], *, origin: str
    ) -> tuple[pd.DataFrame | None, list[DeadLetter]]:
        """Parse the pieces a :class:`~streamlab.parse.framing.LineFramer` returned (usually
        one; several only around a cut oversized record) into one batch."""
        if len(pieces) == 1:
            return self.parse(pieces[0][0], origin=origin, offset=pieces[0][1])
        frames, bad = [], []
        for data, offset in pieces:
            df, more = self.parse(data, origin=origin, offset=offset)
            bad += more
            if df is not None:
                frames.append(df)
        if not frames:
            return None, bad
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return with_time_column(df, self.time_column), bad

    def _finish(self, df, lines, bad, origin):
        if df is None or not len(df):
            return None
        df, keep = self._conform(df, lines, bad, origin)
        if self.time_column is not None:
            located = lines if keep is None else lines_at(lines, keep)
            df = self._event_time(df, located, bad, origin)
        if not len(df):
            return None
        return with_time_column(df.reset_index(drop=True), self.time_column)

    def _parse(
        self, data: bytes, origin: str, offset: int
    ) -> tuple[pd.DataFrame | None, LineSource, list[DeadLetter]]:
        raise NotImplementedError

    # -- schema --------------------------------------------------------------------------
    def _conform(self, df, lines, bad, origin):
        """Convert ``df`` to the locked schema; bad values become dead letters."""
        if self.schema is None:
            self.schema = self._infer_schema(df)
        rows_ok = np.ones(len(df), dtype=bool)
        reasons: dict[int, str] = {}
        dtypes = df.dtypes.to_dict()  # one lookup, not a Series per column (~9 us each)
        for col, want in self.schema.items():
            if col not in dtypes:
                if want.kind in "iub":  # a missing value is neither an integer nor a boolean
                    self.schema[col] = want = np.dtype("float64" if want.kind != "b" else object)
                    self.schema_changes += 1
                df[col] = pd.Series(np.nan, index=df.index).astype(want, errors="ignore")
                continue
            have = dtypes[col]
            if have == want:
                continue
            if want.kind in "iu" and have.kind == "f":
                if _whole(df[col]):
                    df[col] = df[col].astype(want)
                else:
                    self.schema[col] = np.dtype("float64")
                    self.schema_changes += 1
                continue
            if want.kind in "iuf" and have.kind in "iub":
                df[col] = df[col].astype(want)
                continue
            if want.kind in "iuf":
                num = pd.to_numeric(df[col], errors="coerce")
                failed = num.isna().to_numpy() & df[col].notna().to_numpy()
                if want.kind in "iu" and not _whole(num[~failed]):  # NaN, 1.5 or inf
                    self.schema[col] = want = np.dtype("float64")
                    self.schema_changes += 1
                for i in np.flatnonzero(failed & rows_ok).tolist():
                    reasons[i] = f"column {col!r}: {df[col].iloc[i]!r} is not a valid {want.name}"
                rows_ok &= ~failed
                df[col] = num
                continue
            if want.kind == "M":
                continue  # handled by _event_time, or left as parsed
            if want.kind == "b":  # astype(bool) would turn a missing value or "no" into True
                self.schema[col] = np.dtype(object)
                self.schema_changes += 1
                df[col] = df[col].astype(object)
                continue
            try:
                df[col] = df[col].astype(want)
            except (TypeError, ValueError):
                self.schema[col] = np.dtype(object)
                self.schema_changes += 1
                df[col] = df[col].astype(object)
        extra = [c for c in df.columns if c not in self.schema]
        if extra:
            for c in extra:
                self.schema[c] = df[c].dtype
            self.schema_changes += 1
        if reasons:
            self._dead(lines, reasons, bad, origin)
            keep = np.flatnonzero(rows_ok)
            df = df.iloc[keep]
            for col, want in self.schema.items():
                if want.kind in "iu" and df[col].dtype != want:
                    df[col] = df[col].astype(want)
            return df, keep
        now = df.dtypes.to_dict()
        for col, want in self.schema.items():
            if want.kind in "iu" and now[col].kind == "f":
                df[col] = df[col].astype(want)
        return df, None

    def _infer_schema(self, df: pd.DataFrame) -> dict:
        """The first batch fixes the schema. A text column whose non-empty values are at least
        90% numbers is numeric: the rest are bad values, not a reason to make it text. (A
        stride sample of 256 values that is less than half numbers settles a column as text
        without converting the whole column.)"""
        schema = dict(df.dtypes)
        given = self.dtypes or {}
        unknown = set(given) - set(df.columns)
        if unknown:
            raise ConfigError(
                f"dtypes names columns {sorted(unknown)} that the data does not have; "
                f"its columns are {list(df.columns)}"
            )
        for col, dtype in schema.items():
            if col in given:
                schema[col] = pd.api.types.pandas_dtype(given[col])
            elif dtype.kind not in "iufbmM" and (col != self.time_column or not self.time_format):
                if _mostly_text(df[col]):
                    continue  # plainly text: skip the full pass over a big first batch
                present = df[col].notna()
                num = pd.to_numeric(df[col], errors="coerce")
                n = int(present.sum())
                if n and num.notna().sum() >= 0.9 * n:
                    ints = _whole(num[present])
                    schema[col] = np.dtype("int64" if ints else "float64")
        return schema

    # -- event time ----------------------------------------------------------------------
    def _event_time(self, df, lines, bad, origin):
        col = self.time_column
        if col not in df.columns:
            raise ConfigError(
                f"time_column={col!r} is not a column of this stream; its columns are "
                f"{list(df.columns)}"
            )
        raw = df[col]
        if raw.dtype.kind == "M":
            t = raw if getattr(raw.dt, "tz", None) else raw.dt.tz_localize("UTC")
        elif raw.dtype.kind in "iuf":
            values = raw.to_numpy(dtype="float64", na_value=np.nan)
            if self.time_unit is None:
                self.time_unit = _infer_unit(values)
            t = pd.to_datetime(raw, unit=self.time_unit, utc=True, errors="coerce")
        else:
            fmt = self.time_format or "ISO8601"
            if pd.api.types.infer_dtype(raw, skipna=True) != "string":
                raw_text = raw.astype(str)  # numbers among strings: text, never a guessed epoch
            else:
                raw_text = raw
            t = pd.to_datetime(raw_text, utc=True, errors="coerce", format=fmt)
        failed = t.isna().to_numpy()
        if failed.any():
            reasons = {}
            for i in np.flatnonzero(failed).tolist():
                v = raw.iloc[i]
                v = v.item() if isinstance(v, np.generic) else v  # 1e+30, not np.float64(1e+30)
                reasons[i] = (
                    f"time column {col!r} is missing"
                    if pd.isna(v)
                    else f"time column {col!r}: {v!r} is not a timestamp"
                    + (
                        f" in unit {self.time_unit!r}"
                        if raw.dtype.kind in "iuf"
                        else f" (expected {self.time_format or 'ISO 8601'})"
                    )
                )
            self._dead(lines, reasons, bad, origin)
            keep = np.flatnonzero(~failed)
            df = df.iloc[keep].copy()
            t = t.iloc[keep]
        df[col] = t.dt.as_unit("ns")
        return df

    @staticmethod
    def _dead(lines, reasons: dict[int, str], bad: list[DeadLetter], origin: str) -> None:
        located = lines(sorted(reasons)) if callable(lines) else [(b"", None)] * len(reasons)
        for (raw, off), (_, reason) in zip(located, sorted(reasons.items()), strict=True):
            bad.append(DeadLetter(raw=raw, reason=reason, origin=origin, offset=off))


def _mostly_text(column: pd.Series) -> bool:
    values = column.dropna()
    sample = values.iloc[:: max(1, len(values) // 256)]
    return bool(pd.to_numeric(sample, errors="coerce").notna().sum() < 0.5 * len(sample))


class LineSource:
    """Finds the raw bytes and offsets of rows by their position, only when a row is bad."""

    def __init__(self, data: bytes, offset: int, *, offsets=None, skip_blank: bool = True) -> None:
        self.data = data
        self.offset = offset
        self.offsets = offsets  # stream offsets of the non-blank lines, when data was filtered
        self.skip_blank = skip_blank
        self._lines: list[tuple[bytes, int]] | None = None

    @classmethod
    def of(cls, pairs: list[tuple[bytes, int]]) -> LineSource:
        """A finder over rows already split into ``(raw_line, offset)`` pairs, one per row."""
        found = cls(b"", 0)
        found._lines = pairs
        return found

    def __call__(self, positions: list[int]) -> list[tuple[bytes, int]]:
        if self._lines is None:
            lines = split_lines(self.data, self.offset)
            if self.skip_blank:
                lines = [(b.rstrip(b"\r"), o) for b, o in lines if b.strip(b"\r")]
            if self.offsets is not None:
                lines = [(b, int(o)) for (b, _), o in zip(lines, self.offsets, strict=True)]
            self._lines = lines
        return [self._lines[p] for p in positions]


def lines_at(lines, keep):
    """The line finder for the rows that survived a filter (``keep`` are their positions)."""
    if not callable(lines):
        return lines
    kept = np.asarray(keep)
    return lambda positions: lines([int(kept[p]) for p in positions])
