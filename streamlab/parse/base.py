"""What every parser shares: a stable schema across batches, the event-time column, dead letters.

A parser is stateful for one byte stream (one file or one connection): the CSV header, the
schema locked by the first batch and the unit of a numeric time column all persist. Parsers
receive only complete newline-terminated records (see :mod:`streamlab.parse.framing`).

Schema policy, stated once. A declared type (``dtypes={"n": "int64"}``) is a promise: every
batch has it, and a value that does not fit it (empty, ``3.5``, ``true``, out of range) sends
its record to the dead letters with the column, the value and the type named (the rules are
in :mod:`streamlab.parse.types`). Undeclared columns take the types of the first batch; later
batches are converted to them, and a value that does not fit is a dead letter too, except
that an integer column widens for good (to ``Int64`` for a missing value, to ``float64`` for
a fraction) and a boolean column likewise (``boolean``, or ``object``): each change is counted
in ``schema_changes`` and announced once (``schema_log`` and a warning on the ``streamlab``
logger). So a column never flips back and forth between batches.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..core.batch import with_time_column
from ..core.checks import check_choice
from ..core.deadletter import DeadLetter
from ..errors import ConfigError
from .framing import LineFinder, lines_at
from .types import coerce, family, show, takes_missing

__all__ = ["TIME_UNITS", "Parser"]

_log = logging.getLogger("streamlab")

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
    """Base class: subclasses implement :meth:`_parse` for one format.

    ``_parse(data, origin, offset)`` returns the batch as read, a finder of bad rows' raw
    lines (``None`` if it has none) and the records it could not read as dead letters; the
    base class gives the batch its stable schema and its event-time column.

    Examples
    --------
    >>> import pandas as pd
    >>> class Words(Parser):
    ...     format = "words"
    ...     def _parse(self, data, origin, offset):
    ...         return pd.DataFrame({"word": data.decode().split()}), None, []
    >>> df, bad = Words().parse(b"a b\\nc\\n", origin="demo")
    >>> df["word"].tolist(), bad
    (['a', 'b', 'c'], [])
    """

    format = ""
    #: True where a record may lack a column (JSON keys): a declared column absent from the
    #: first batch is then part of the schema; elsewhere (a CSV header) it is a mistake
    keys_may_be_absent = False

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
        #: the declared types (they never change)
        self._given = {c: pd.api.types.pandas_dtype(d) for c, d in (self.dtypes or {}).items()}
        self._declared = set(self._given)
        self.schema_changes = 0
        #: what changed, in order (also logged once each on the ``streamlab`` logger)
        self.schema_log: list[str] = []

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
    ) -> tuple[pd.DataFrame | None, LineFinder | None, list[DeadLetter]]:
        raise NotImplementedError

    # -- schema --------------------------------------------------------------------------
    def _conform(
        self, df: pd.DataFrame, lines: LineFinder | None, bad: list[DeadLetter], origin: str
    ) -> tuple[pd.DataFrame, np.ndarray | None]:
        """Give every column its schema type (see :mod:`streamlab.parse.types`); a value that
        does not fit sends its record to the dead letters. Undeclared types may widen once
        (see :meth:`_widen`); declared types never change."""
        if self.schema is None:
            self.schema = self._infer_schema(df)
        n = len(df)
        rows_bad = np.zeros(n, bool)
        failed: list[tuple] = []  # (column, type, rows that do not fit, their reasons)
        have = df.dtypes.to_dict()  # one lookup, not a Series per column (~9 us each)
        for col, want in list(self.schema.items()):
            if col in have and have[col] == want:
                continue
            series = df[col] if col in have else pd.Series(np.full(n, None, object), index=df.index)
            if col not in self._declared:
                want = self._widen(col, want, series)
                if series.dtype == want:
                    df[col] = series
                    continue
            values, wrong, why = coerce(series, want, column=col)
            if wrong.any():
                failed.append((col, want, wrong & ~rows_bad, why))
                rows_bad |= wrong
            df[col] = values
        extra = [c for c in df.columns if c not in self.schema]
        for c in extra:
            self.schema[c] = df[c].dtype
            self._announce(c, None, df[c].dtype, "a new column")
        if list(df.columns) != list(self.schema):
            df = df[list(self.schema)]
        if not failed:
            return df, None
        self._dead(lines, self._reasons(failed, lines), bad, origin)
        keep = np.flatnonzero(~rows_bad)
        return df.iloc[keep], keep

    def _reasons(self, failed: list[tuple], lines) -> dict[int, str]:
        """Each bad row's reason (the first column it fails in). Where the format has the
        values as text (CSV), the reasons quote the text as written, so a reason does not
        depend on how the rest of the batch was read: the bad rows' own lines are read again
        and checked again."""
        reasons: dict[int, str] = {}
        for col, want, rows, why in failed:
            at = np.flatnonzero(rows)
            text = self._as_text(col, at, lines)
            if text is not None:
                _, wrong, text_why = coerce(text, want, column=col)
                why = _in_order(at, wrong, text_why, why)
            for i in at.tolist():
                reasons[i] = why(i)
        return reasons

    def _as_text(self, column: str, rows: np.ndarray, lines) -> pd.Series | None:
        """``column`` of the batch's ``rows`` as the text written (``None``: no text)."""
        return None

    def _widen(self, col: str, want, series: pd.Series):
        """The type an undeclared column takes for this batch, widened for good when the batch
        needs it: an integer column takes ``Int64`` for a missing value and ``float64`` for a
        fraction (or inf); a boolean column takes ``boolean`` for a missing value and
        ``object`` for anything else. Each change is counted and announced once."""
        kind = family(want)
        if kind not in ("int", "bool") or series.dtype == want:
            return want
        missing = series.isna().to_numpy()
        if kind == "bool":
            if series.dtype.kind == "b" or series[~missing].map(_is_bool).all():
                new = pd.BooleanDtype() if missing.any() else want
            else:
                new = np.dtype(object)
        else:
            num = series
            if series.dtype == object:  # Python values (JSON): true is not a number
                num = pd.to_numeric(series.where(~series.map(_is_bool)), errors="coerce")
            elif series.dtype.kind not in "iuf":
                num = pd.to_numeric(series, errors="coerce")
            v = num.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                fraction = ~np.isnan(v) & ((v != np.floor(v)) | np.isinf(v))
            if fraction.any():
                new = np.dtype("float64")
            elif missing.any() and not takes_missing(want):
                new = pd.array(np.zeros(0, want)).dtype  # int64 -> Int64, uint8 -> UInt8
            else:
                new = want
        if new != want:
            assert self.schema is not None  # _conform infers it before any column is widened
            self.schema[col] = new
            self._announce(col, want, new, "to fit this batch's values")
        return new

    def _announce(self, col: str, old, new, why: str) -> None:
        """Count a schema change and say it once (a warning on the ``streamlab`` logger)."""
        self.schema_changes += 1
        text = (
            f"column {col!r} added as {new}"
            if old is None
            else f"column {col!r} changed from {old} to {new} {why}"
        )
        self.schema_log.append(text)
        _log.warning("%s: schema change: %s (declare dtypes= to fix the type)", self.format, text)

    def _infer_schema(self, df: pd.DataFrame) -> dict:
        """The first batch fixes the schema. A text column whose non-empty values are at least
        90% numbers is numeric: the rest are bad values, not a reason to make it text. (A
        stride sample of 256 values that is less than half numbers settles a column as text
        without converting the whole column.)"""
        schema = dict(df.dtypes)
        given = self._given
        unknown = [c for c in given if c not in schema]
        if unknown and not self.keys_may_be_absent:
            raise ConfigError(
                f"dtypes names columns {sorted(unknown)} that the data does not have; "
                f"its columns are {list(df.columns)}",
                param="dtypes",
                value=sorted(unknown)[0],
            )
        schema.update({c: given[c] for c in unknown})  # keys the first records lack
        for col, dtype in schema.items():
            if col in given:
                schema[col] = given[col]
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
                f"{list(df.columns)}",
                param="time_column",
                value=col,
            )
        raw = df[col]
        if raw.dtype.kind == "M":
            t = raw if getattr(raw.dt, "tz", None) else raw.dt.tz_localize("UTC")
        elif raw.dtype.kind in "iuf":
            values = raw.to_numpy(dtype="float64", na_value=np.nan)
            if self.time_unit is None:
                self.time_unit = _infer_unit(values)
            # pandas < 3 raises OverflowError (not NaT) on a float past int64 or infinite
            inside = raw.where(np.abs(values) < 2.0**63) if raw.dtype.kind == "f" else raw
            t = pd.to_datetime(inside, unit=self.time_unit, utc=True, errors="coerce")
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
                reasons[i] = (
                    f"time column {col!r} is missing"
                    if pd.isna(v)
                    else f"time column {col!r}: {show(v)} is not a timestamp"
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
        df.isetitem(df.columns.get_loc(col), t.dt.as_unit("ns"))  # no SettingWithCopy (pandas 2)
        return df

    @staticmethod
    def _dead(lines, reasons: dict[int, str], bad: list[DeadLetter], origin: str) -> None:
        located = lines(sorted(reasons)) if callable(lines) else [(b"", None)] * len(reasons)
        for (raw, off), (_, reason) in zip(located, sorted(reasons.items()), strict=True):
            bad.append(DeadLetter(raw=raw, reason=reason, origin=origin, offset=off))


def _in_order(at: np.ndarray, wrong: np.ndarray, text_why, why):
    """The reason of row ``at[k]`` from the text checks (position ``k``) where they found it
    bad, else the first check's."""
    where = {int(row): k for k, row in enumerate(at.tolist())}
    return lambda i: text_why(where[i]) if wrong[where[i]] else why(i)


def _beyond_exact(values: pd.Series) -> bool:
    """True if float ``values`` reach 2**53, where a float may not be the integer it was."""
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    return bool(len(v)) and bool(np.nanmax(np.abs(v), initial=0.0) >= 2**53)


def _is_bool(value) -> bool:
    return isinstance(value, bool | np.bool_)


def _mostly_text(column: pd.Series) -> bool:
    values = column.dropna()
    sample = values.iloc[:: max(1, len(values) // 256)]
    return bool(pd.to_numeric(sample, errors="coerce").notna().sum() < 0.5 * len(sample))
