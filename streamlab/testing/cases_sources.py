"""Conformance cases for every public source: the same typed records, with bad ones among
them, through each transport; the answer is what pandas (or ``json``) reads from the good
records, and the dead letters the bad ones must become."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from .sources import SourceCase

__all__ = ["SOURCE_CASES"]

DTYPES = {
    "k": pd.CategoricalDtype(["a", "b", "c"]),
    "n": "int64",
    "m": "Int64",
    "x": "float64",
    "f": "float32",
    "b": "boolean",
    "s": "string",
}
HEADER = b"t,k,n,m,x,f,b,s\n"
#: event times anywhere in datetime64[ns]'s range, with and without zone offsets
GOOD = [
    b"2026-01-01T00:00:00Z,a,1,,1.5,0.25,true,hello",
    b"1678-01-01T00:00:00.000000001Z,b,-9223372036854775808,7,-0.0,1e30,FALSE,",
    b"2261-12-31T23:59:59.999999999Z,c,9223372036854775807,-3,1e308,-2.5,,<b>x</b>",
    b"1921-07-04T12:00:00+02:00,a,0,0,nan,inf,True,caf\xc3\xa9",
    b'2026-03-29T02:30:00+01:00,b,42,,3,0,false,"quoted, with comma"',
]
BAD = [
    (b",a,1,1,1.5,0.5,true,x", "time column 't' is missing"),
    (b"2026-01-01T00:00:01Z,a,,1,1.5,0.5,true,x",
     "column 'n': missing value, and int64 has none (declare 'Int64' to allow missing values)"),
    (b"2026-01-01T00:00:02Z,a,3.5,1,1.5,0.5,true,x", "column 'n': '3.5' is not a whole number, not an int64"),
    (b"2026-01-01T00:00:03Z,a,99999999999999999999,1,1.5,0.5,true,x",
     "column 'n': '99999999999999999999' is out of range for int64"),
    (b"2026-01-01T00:00:04Z,a,1,1,1.5,1e39,true,x", "column 'f': '1e39' is out of range for float32"),
    (b"2026-01-01T00:00:05Z,a,1,1,1.5,0.5,maybe,x", "column 'b': 'maybe' is not a valid boolean (true or false)"),
    (b"2026-01-01T00:00:06Z,z,1,1,1.5,0.5,true,x", "column 'k': 'z' is not one of the declared categories ('a', 'b', 'c')"),
    (b"2026-01-01T00:00:07Z,a,1,1,1.5,0.5,true", "expected 8 fields, saw 7"),
    (b"2026-01-01T00:00:08Z,a,1,1,1.5,0.5,true,x\ry", "carriage return (\\r) inside a record; records end with \\n or \\r\\n"),
    (b"2026-01-01T00:00:09Z,a,1,1,1.5,0.5,true,\xff", "invalid UTF-8 at byte 40"),
    (b"2026-01-01T00:00:10Z,a,1,1,warm,0.5,true,x", "column 'x': 'warm' is not a valid float64"),
]  # fmt: skip


def _csv_rows() -> pd.DataFrame:
    """pandas' reading of the good records, with the declared types (and the event time as
    UTC nanoseconds): the answer every CSV source must give."""
    df = pd.read_csv(io.BytesIO(HEADER + b"\n".join(GOOD) + b"\n"), dtype=DTYPES)
    df["t"] = pd.to_datetime(df["t"], utc=True, format="ISO8601").dt.as_unit("ns")
    return df


def _interleave(good: list[bytes], bad: list[bytes]) -> bytes:
    lines = []
    for i in range(max(len(good), len(bad))):
        lines += good[i : i + 1] + bad[i : i + 1]
    return b"\n".join(lines) + b"\n"


JSON_GOOD = [
    {"t": 1_700_000_000_000, "n": 1, "x": 1.5, "b": True, "s": "a", "o": {"deep": [1, None]}},
    {"t": 1_700_000_000_500, "n": -(2**63), "x": -0.0, "b": False, "s": "", "o": None},
    {"t": 1_700_000_001_000, "n": 2**63 - 1, "x": 1e308, "b": True, "s": "é", "o": [1]},
]
JSON_BAD = [
    (b'{"t": 1700000002000, "n": true, "x": 1.0, "b": true, "s": "a", "o": 1}',
     "column 'n': True is a boolean, not an int64"),
    (b'{"t": 1700000003000, "n": 18446744073709551615, "x": 1.0, "b": true, "s": "a", "o": 1}',
     "column 'n': 18446744073709551615 is out of range for int64"),
    (b'{"t": 1700000004000, "n": 1, "x": "warm", "b": true, "s": "a", "o": 1}',
     "column 'x': 'warm' is not a valid float64"),
    (b'{"t": 1700000005000, "n": 1', "invalid JSON: Expecting ',' delimiter at column 28"),
    (b"[1, 2]", "JSON value is a list, not an object"),
    (b'{"n": 1, "x": 1.0, "b": true, "s": "a", "o": 1}', "time column 't' is missing"),
]  # fmt: skip
JSON_DTYPES = {"n": "int64", "x": "float64", "b": "bool", "s": "str"}


def _json_rows() -> pd.DataFrame:
    df = pd.DataFrame.from_records(JSON_GOOD).astype(JSON_DTYPES)
    df["t"] = pd.to_datetime(df["t"], unit="ms", utc=True).dt.as_unit("ns")
    return df


TEXT = [b"plain line", b"  spaces kept  ", b"", b"caf\xc3\xa9", b"<script>x</script>"]
TEXT_BAD = [(b"\xff\xfe broken", "invalid UTF-8 at byte 0")]
SYSLOG = [
    b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - It's time",
    b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
]
SYSLOG_BAD = [(b"hello, not syslog", "not RFC 5424 or RFC 3164 syslog")]


def _text_rows() -> pd.DataFrame:
    return pd.DataFrame({"line": pd.Series([t.decode() for t in TEXT], dtype="str")})


def _parquet_writer(rows: pd.DataFrame):
    def write(path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)

    return write


def SOURCE_CASES() -> dict[str, list[SourceCase]]:
    csv_payload = HEADER + _interleave(GOOD, [b for b, _ in BAD])
    csv = {"time_column": "t", "dtypes": DTYPES}
    dead = tuple(BAD)
    rows = _csv_rows()
    json_payload = _interleave(
        [json.dumps(r).encode() for r in JSON_GOOD], [b for b, _ in JSON_BAD]
    )
    jsonl = {"time_column": "t", "time_unit": "ms", "dtypes": JSON_DTYPES}
    generated = {"kind": "random_walk", "rows": 500, "seed": 7, "speed": 0, "keys": 3}
    parquet_rows = rows.drop(columns=["k"]).assign(k=rows["k"].astype(str))
    return {
        "replay": [
            SourceCase("replay csv", "replay", csv_payload, csv, rows, dead),
            SourceCase("replay csv.gz", "replay.gz", csv_payload, csv, rows, dead),
            SourceCase("replay jsonl", "replay", json_payload, jsonl, _json_rows(), tuple(JSON_BAD), ".jsonl"),
            SourceCase("replay text", "replay", _interleave(TEXT, [b for b, _ in TEXT_BAD]), {}, _text_rows(), tuple(TEXT_BAD), ".txt"),
            SourceCase("replay syslog", "replay", _interleave(SYSLOG, [b for b, _ in SYSLOG_BAD]), {}, None, tuple(SYSLOG_BAD), ".syslog"),
            SourceCase("replay parquet", "stored", b"", {"time_column": "t"}, parquet_rows, (), ".parquet",
                       write=_parquet_writer(parquet_rows)),
        ],
        "from_tcp": [SourceCase("from_tcp csv", "from_tcp", csv_payload, csv, rows, dead)],
        "listen_tcp": [SourceCase("listen_tcp csv", "listen_tcp", csv_payload, csv, rows, dead)],
        "from_udp": [
            SourceCase(
                "from_udp csv",
                "from_udp",
                _interleave(GOOD, [b for b, _ in BAD]),
                {**csv, "parse": "csv", "columns": HEADER.decode().strip().split(",")},
                rows,
                dead,
            )
        ],
        "serve": [SourceCase("serve csv, read by from_tcp", "serve", HEADER + b"\n".join(GOOD) + b"\n", csv, rows)],
        "generate": [SourceCase("generate random_walk", "generate", b"", generated, None)],
    }  # fmt: skip
