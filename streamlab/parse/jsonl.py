"""JSON Lines into batches.

The fast path decodes the batch once and runs the C JSON scanner on each line, checking that the
line is exactly one object. (Joining the lines into one big array and calling ``json.loads``
once is 35% faster but unsound: a value split over two lines and a line holding two objects
cancel out, and bad input passes as good.)"""

from __future__ import annotations

import json

import pandas as pd

from ..core.deadletter import DeadLetter
from .base import Parser, _beyond_exact
from .framing import LineFinder, LineSource, split_lines
from .types import family

__all__ = ["JsonlParser"]

# the C scanner: one value from a position, no wrapping (set by JSONDecoder.__init__, which
# typeshed does not declare)
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class JsonlParser(Parser):
    """Parse one JSON object per line; nested values stay Python objects.

    Examples
    --------
    >>> df, bad = JsonlParser().parse(b'{"a": 1, "b": "x"}\\n[1]\\n{"a": 2}\\n{bad\\n', origin="f")
    >>> df
       a    b
    0  1    x
    1  2  NaN
    >>> [(b.raw, b.reason) for b in bad]
    [(b'[1]', 'JSON value is a list, not an object'), (b'{bad', 'invalid JSON: Expecting property name enclosed in double quotes at column 2')]
    """

    format = "jsonl"
    keys_may_be_absent = True

    def _parse(
        self, data: bytes, origin: str, offset: int
    ) -> tuple[pd.DataFrame | None, LineFinder | None, list[DeadLetter]]:
        bad: list[DeadLetter] = []
        records = self._fast(data)
        lines = LineSource(data, offset)
        if records is None:
            records, pairs = self._slow(data, offset, origin, bad)
            lines = LineSource.of(pairs)
        if not records:
            return None, None, bad
        return self._frame(records), lines, bad

    def _frame(self, records: list[dict]) -> pd.DataFrame:
        """The records as a frame. An integer column that pandas made float (a fraction or
        a null among the values) keeps its values as the Python numbers they were, when
        floats would lose digits (past 2**53), so the type check sees them exactly."""
        df = pd.DataFrame.from_records(records)
        ints = [c for c, d in {**(self.schema or {}), **self._given}.items() if family(d) == "int"]
        for col in ints:
            if col in df.columns and df[col].dtype.kind == "f" and _beyond_exact(df[col]):
                df[col] = pd.Series([r.get(col) for r in records], dtype=object)
        return df

    @staticmethod
    def _fast(data: bytes) -> list[dict] | None:
        """Every line one JSON object and nothing else, or ``None`` (then the exact path says
        which line is wrong and why)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\r" in text:
            return None
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        try:
            parsed = [_SCAN(line, 0) for line in lines]
        except (StopIteration, ValueError):
            return None
        for (value, end), line in zip(parsed, lines, strict=True):
            if end != len(line) or type(value) is not dict:
                return None
        return [value for value, _ in parsed]

    def _infer_schema(self, df: pd.DataFrame) -> dict:
        """As for CSV, but a JSON string stays text however numeric it looks ("007")."""
        schema = super()._infer_schema(df)
        for col, dtype in schema.items():
            if (
                col not in (self.dtypes or {})
                and dtype != df[col].dtype
                and pd.api.types.infer_dtype(df[col], skipna=True) == "string"
            ):
                schema[col] = df[col].dtype
        return schema

    @staticmethod
    def _slow(data, offset, origin, bad):
        records, pairs = [], []
        for line, off in split_lines(data, offset):
            body = line.rstrip(b"\r")
            if not body.strip(b" \t\r"):  # JSON's own whitespace (not form feeds)
                continue
            try:
                value = json.loads(body)
            except UnicodeDecodeError as exc:
                reason = f"invalid UTF-8 at byte {exc.start}"
            except ValueError as exc:
                msg = exc.msg.removesuffix(" at")  # "Invalid control character at"
                reason = f"invalid JSON: {msg} at column {exc.colno}"
            else:
                if type(value) is dict:
                    records.append(value)
                    pairs.append((body, off))
                    continue
                reason = f"JSON value is {_kind(value)}, not an object"
            bad.append(DeadLetter(raw=body, reason=reason, origin=origin, offset=off))
        return records, pairs


def _kind(value) -> str:
    return {
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
