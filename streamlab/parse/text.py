"""Plain text: one row per line, in a single ``line`` column."""

from __future__ import annotations

import pandas as pd

from ..core.deadletter import DeadLetter
from .base import Parser
from .framing import LineFinder, LineSource, split_lines

__all__ = ["TextParser"]


class TextParser(Parser):
    """Each line becomes a row of the ``line`` column (a trailing ``\\r`` is removed).

    Examples
    --------
    >>> df, bad = TextParser().parse(b"hello\\r\\n\\xff\\xfe\\nworld\\n", origin="f")
    >>> df["line"].tolist(), [(b.raw, b.reason) for b in bad]
    (['hello', 'world'], [(b'\\xff\\xfe', 'invalid UTF-8 at byte 0')])
    """

    format = "text"

    def _infer_schema(self, df: pd.DataFrame) -> dict:
        """A line is text however numeric it looks: no 90%-numbers rule here."""
        schema = super()._infer_schema(df)
        if "line" not in (self.dtypes or {}):
            schema["line"] = df["line"].dtype
        return schema

    def _parse(
        self, data: bytes, origin: str, offset: int
    ) -> tuple[pd.DataFrame | None, LineFinder | None, list[DeadLetter]]:
        bad: list[DeadLetter] = []
        lines: list[str]
        pairs: list[tuple[bytes, int]] | None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            lines, pairs = [], []
            for line, off in split_lines(data, offset):
                try:
                    lines.append(line.decode("utf-8").removesuffix("\r"))
                    pairs.append((line, off))
                except UnicodeDecodeError as exc:
                    bad.append(
                        DeadLetter(
                            raw=line.removesuffix(b"\r"),
                            reason=f"invalid UTF-8 at byte {exc.start}",
                            origin=origin,
                            offset=off,
                        )
                    )
        else:
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            if "\r" in text:
                lines = [s.removesuffix("\r") for s in lines]
            pairs = None
        if not lines:
            return None, None, bad
        found = (
            LineSource(data, offset, skip_blank=False) if pairs is None else LineSource.of(pairs)
        )
        return pd.DataFrame({"line": lines}), found, bad
