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
"""

from __future__ import annotations

from ..core.checks import check_choice
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
]

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


def make_parser(format: str, **options) -> Parser:
    """A fresh parser for one byte stream (one file, one connection)."""
    return FORMATS[check_choice("format", format, FORMATS)](**options)


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
