"""Dead letters: records that could not become rows, kept with the reason and where they came from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["MAX_RAW_KEPT", "MAX_REASON", "DeadLetter", "dead_letter_frame"]

#: At most this many raw bytes of one bad record are kept (a 10 MB line keeps its first 64 KiB).
MAX_RAW_KEPT = 64 * 1024
#: At most this many characters of a reason are kept (reasons quote values, and values can be
#: as long as a record: a 1 MB field must not make a 1 MB reason).
MAX_REASON = 1024


@dataclass
class DeadLetter:
    """One bad record.

    Examples
    --------
    >>> d = DeadLetter(raw=b"1,x", reason="column 'value': 'x' is not a number", origin="f.csv")
    >>> d.origin, d.raw
    ('f.csv', b'1,x')
    >>> big = DeadLetter(raw=b"x" * 100_000, reason="y" * 5000, origin="f.csv")
    >>> len(big.raw), big.size, len(big.reason) <= MAX_REASON, big.reason[-24:]
    (65536, 100000, True, '... (5000 characters)')
    """

    raw: bytes
    reason: str
    origin: str
    offset: int | None = None
    size: int | None = None
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.size is None:
            self.size = len(self.raw)
        if len(self.raw) > MAX_RAW_KEPT:
            self.raw = bytes(self.raw[:MAX_RAW_KEPT])
        if len(self.reason) > MAX_REASON:
            tail = f"... ({len(self.reason)} characters)"
            self.reason = self.reason[: MAX_REASON - len(tail)] + tail


DEAD_LETTER_COLUMNS = ["time", "origin", "offset", "reason", "size", "raw"]


def dead_letter_frame(letters: list[DeadLetter]) -> pd.DataFrame:
    """The batch a source emits on its ``.errors`` stream.

    Examples
    --------
    >>> df = dead_letter_frame([DeadLetter(b"{", "invalid JSON", "peer 127.0.0.1:5", offset=0)])
    >>> list(df.columns)
    ['time', 'origin', 'offset', 'reason', 'size', 'raw']
    >>> df["raw"].tolist()
    [b'{']
    """
    df = pd.DataFrame(
        {
            "time": pd.to_datetime([d.time for d in letters], unit="s", utc=True),
            "origin": pd.Series([d.origin for d in letters], dtype=object),
            "offset": pd.array([d.offset for d in letters], dtype="Int64"),
            "reason": pd.Series([d.reason for d in letters], dtype=object),
            "size": pd.array([d.size for d in letters], dtype="Int64"),
            "raw": pd.Series([d.raw for d in letters], dtype=object),
        },
        columns=DEAD_LETTER_COLUMNS,
    )
    df.attrs["time_column"] = "time"
    return df
