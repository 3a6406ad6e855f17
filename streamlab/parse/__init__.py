"""Bytes into DataFrame batches: ``csv``, ``jsonl``, ``text`` and ``syslog``.

Examples
--------
>>> p = make_parser("csv", columns=["t", "x"])
>>> df, bad = p.parse(b"1,2\\n", origin="doc")
>>> df.to_dict("list")
{'t': [1], 'x': [2]}
>>> make_parser("jsnl")
Traceback (most recent call last):
...
streamlab.errors.ConfigError: format='jsnl' is not one of 'csv', 'jsonl', 'text', 'syslog'. Did you mean 'jsonl'?

:data:`FORMATS` maps each format to its parser class; :data:`DEFAULT_MAX_RECORD` is the
longest record (bytes) a source accepts unless told otherwise:

>>> sorted(FORMATS), FORMATS["jsonl"].__name__, DEFAULT_MAX_RECORD
(['csv', 'jsonl', 'syslog', 'text'], 'JsonlParser', 1048576)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.checks import check_choice
from ..errors import ParseError
from .base import Parser as Parser
from .csv import CsvParser as CsvParser
from .framing import DEFAULT_MAX_RECORD as DEFAULT_MAX_RECORD
from .framing import LineFramer as LineFramer
from .jsonl import JsonlParser as JsonlParser
from .syslog import SyslogParser as SyslogParser
from .text import TextParser as TextParser

__all__ = [
    "DEFAULT_MAX_RECORD",
    "FORMATS",
    "CsvParser",
    "JsonlParser",
    "LineFramer",
    "Parser",
    "SyslogParser",
    "TextParser",
    "format_for_path",
    "make_parser",
    "parse_bytes",
]

#: every format by name, with its parser class
FORMATS = {"csv": CsvParser, "jsonl": JsonlParser, "text": TextParser, "syslog": SyslogParser}

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "text",
    ".log": "text",
    ".syslog": "syslog",
}


def make_parser(format: str, **options: Any) -> Parser:
    """A fresh parser for one byte stream (one file, one connection).

    ``format`` is one of :data:`FORMATS`; ``options`` go to its class (``columns=``,
    ``time_column=``, ``dtypes=``...). The parser keeps what it learned (the CSV header, the
    schema, a numeric time column's unit) from one batch to the next.

    Examples
    --------
    >>> p = make_parser("csv", time_column="t", dtypes={"x": "int64"})
    >>> df, bad = p.parse(b"t,x\\n1700000000,1\\n1700000001,oops\\n", origin="demo")
    >>> df["x"].tolist(), p.time_unit, [(b.offset, b.reason) for b in bad]
    ([1], 's', [(17, "column 'x': 'oops' is not a valid int64")])
    >>> df, _ = p.parse(b"1700000002,3\\n", origin="demo")  # the header was read before
    >>> df["t"].tolist()
    [Timestamp('2023-11-14 22:13:22+0000', tz='UTC')]
    """
    return FORMATS[check_choice("format", format, FORMATS)](**options)


def parse_bytes(
    data: bytes, format: str = "csv", *, origin: str = "bytes", **options
) -> pd.DataFrame:
    """Parse complete records outside a pipeline: every record must be good.

    Inside a pipeline a bad record becomes a dead letter; here, where there is no dead-letter
    stream to send it to, the first one raises :class:`~streamlab.errors.ParseError` naming the
    record's offset and reason (its ``value`` is the raw record, capped). Use
    ``make_parser(format, ...).parse(data, origin=...)`` to get the good rows and the dead
    letters instead.

    Examples
    --------
    >>> parse_bytes(b"t,x\\n1,2\\n3,4\\n").to_dict("list")
    {'t': [1, 3], 'x': [2, 4]}
    >>> parse_bytes(b"1,2\\n3,oops\\n", columns=["t", "x"], dtypes={"x": "int64"})
    Traceback (most recent call last):
    ...
    streamlab.errors.ParseError: 1 bad record in 'bytes'; the first, at byte 4: column 'x': 'oops' is not a valid int64; parse with make_parser(...).parse(data, origin=...) to keep the good rows
    """
    df, bad = make_parser(format, **options).parse(data, origin=origin)
    if bad:
        first = bad[0]
        where = "" if first.offset is None else f", at byte {first.offset}"
        n = f"{len(bad)} bad record{'s' if len(bad) > 1 else ''}"
        raise ParseError(
            f"{n} in {origin!r}; the first{where}: {first.reason}",
            param="data",
            value=first.raw,
            hint="parse with make_parser(...).parse(data, origin=...) to keep the good rows",
        )
    return df if df is not None else pd.DataFrame()


def format_for_path(path) -> str | None:
    """The format a file's suffix implies (``.gz`` is looked through), or ``None``.

    Examples
    --------
    >>> format_for_path("sensors.csv.gz"), format_for_path("x.ndjson"), format_for_path("x.bin")
    ('csv', 'jsonl', None)
    """
    name = str(path).lower().removesuffix(".gz")
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    return None
