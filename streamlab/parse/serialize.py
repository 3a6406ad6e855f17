"""Batches back into bytes: the inverse of the parsers, for sinks that send and for recordings."""

from __future__ import annotations

import struct
from typing import Literal

import numpy as np
import pandas as pd

from ..core.checks import check_choice
from ..errors import ConfigError

__all__ = ["OUT_FORMATS", "frame_length_prefixed", "header_bytes", "to_bytes"]

OUT_FORMATS = ("csv", "jsonl", "text")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_LEN = struct.Struct(">I")


def header_bytes(df: pd.DataFrame, format: str) -> bytes:
    """The line that starts a CSV stream (empty for other formats).

    Examples
    --------
    >>> header_bytes(pd.DataFrame({"t": [1], "x": [2]}), "csv")
    b't,x\\n'
    """
    return (",".join(map(str, df.columns)) + "\n").encode() if format == "csv" else b""


def to_bytes(batch, format: str = "csv") -> bytes:
    """Newline-delimited records for a batch (CSV without its header, JSON Lines, or text).

    ``bytes`` pass through unchanged; a text batch needs a ``line`` column or a single column.

    Examples
    --------
    >>> df = pd.DataFrame({"t": pd.to_datetime([1.5], unit="s", utc=True), "x": [1.0]})
    >>> to_bytes(df, "csv")
    b'1970-01-01T00:00:01.500000Z,1.0\\n'
    >>> to_bytes(df, "jsonl")
    b'{"t":"1970-01-01T00:00:01.500000Z","x":1.0}\\n'
    """
    if isinstance(batch, bytes | bytearray | memoryview):
        return bytes(batch)
    check_choice("format", format, OUT_FORMATS)
    if not isinstance(batch, pd.DataFrame):
        raise ConfigError(
            f"can only send DataFrames or bytes, not {type(batch).__name__}; "
            "map the stream to one of them first",
            param="batch",
            value=type(batch).__name__,
        )
    if not len(batch):
        return b""
    if format in ("csv", "jsonl"):
        batch = _times_as_text(batch)
    if format == "csv":
        return batch.to_csv(
            index=False, header=False, date_format=_DATE_FORMAT, lineterminator="\n"
        ).encode()
    if format == "jsonl":
        out = batch.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
        return (out if out.endswith("\n") else out + "\n").encode()
    column = "line" if "line" in batch.columns else None
    if column is None:
        if batch.shape[1] != 1:
            raise ConfigError(
                f"format='text' sends a 'line' column or a single column; this "
                f"batch has {list(batch.columns)}: select one first",
                param="format",
                value=format,
            )
        column = batch.columns[0]
    return ("\n".join(batch[column].astype(str)) + "\n").encode()


def _times_as_text(batch: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO 8601 text in UTC, to the nanosecond where a value has one
    (``strftime``'s ``%f`` stops at microseconds, and a resent time must not change).

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime([1, 1_500], unit="ns", utc=True))
    >>> _times_as_text(pd.DataFrame({"t": t}))["t"].tolist()
    ['1970-01-01T00:00:00.000000001Z', '1970-01-01T00:00:00.000001500Z']
    """
    columns = [c for c, d in batch.dtypes.items() if d.kind == "M"]
    if not columns:
        return batch
    out = batch.copy(deep=False)
    for col in columns:
        t = out[col]
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        values = t.to_numpy(dtype="datetime64[ns]")
        ns = values.view("i8")
        unit: Literal["ns", "us"] = "ns" if (ns % 1000 != 0).any() else "us"
        text = np.char.add(np.datetime_as_string(values, unit=unit), "Z").astype(object)
        text[np.isnat(values)] = None
        out[col] = pd.Series(text, index=out.index, dtype=object)
    return out


def frame_length_prefixed(payload: bytes) -> bytes:
    """A frame for binary payloads: a 4-byte big-endian length, then the bytes.

    Examples
    --------
    >>> frame_length_prefixed(b"abc")
    b'\\x00\\x00\\x00\\x03abc'
    """
    if len(payload) > 0xFFFFFFFF:
        raise ConfigError(
            f"a frame holds at most 4 GiB, not {len(payload)} bytes",
            param="payload",
            value=len(payload),
        )
    return _LEN.pack(len(payload)) + payload
