"""Parsers under hypothesis: bytes cut anywhere, hostile bytes, declared types kept.

Properties, for CSV, JSON lines, text and syslog:
- no exception escapes a parser, whatever the bytes;
- every non-blank record is either a row or a dead letter (good rows + dead letters == records);
- the same bytes give the same rows and the same dead letters whichever way they are cut
  (one batch, one record per batch, random cuts): so whichever internal path a batch takes;
- good rows equal an independent reference (pandas ``read_csv`` / ``json.loads`` of the good
  records), with the declared types;
- a record longer than ``max_record`` is a dead letter; every letter's raw bytes and reason are
  capped.
"""

from __future__ import annotations

import io
import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlab.core.deadletter import MAX_RAW_KEPT, MAX_REASON
from streamlab.parse import LineFramer, make_parser

# FUZZ_EXAMPLES=5000 for a long random hunt; the default run is short and the same every time
_HUNT = os.environ.get("FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_HUNT or 150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not _HUNT,
)
MAX_RECORD = 200

# bytes that break parsers: separators, quotes, CR/LF, NUL, a BOM, invalid UTF-8, digits
NASTY = st.sampled_from(
    [b",", b'"', b"\r", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xc3\xa9",
     b"1", b"-", b".", b"e", b"9" * 20, b"a", b" ", b"{", b"}", b":", b"[", b"]", b"true", b"null",
     b"<34>", b"Oct 11 22:14:15 ", b"x" * 250]
)  # fmt: skip
RAW = st.lists(NASTY, max_size=40).map(b"".join)


def cuts_of(data: bytes, how, draw_cuts=None) -> list[bytes]:
    if how == "one":
        return [data]
    if how == "lines":
        return [line + b"\n" for line in data.split(b"\n")[:-1]] + (
            [data.rsplit(b"\n", 1)[-1]] if not data.endswith(b"\n") else []
        )
    points = sorted(set(draw_cuts))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def run(fmt: str, options: dict, chunks: list[bytes]):
    """Feed ``chunks`` through a framer and a parser as a file replay does; return the rows
    (one frame, or None) and the dead letters as (raw, reason, offset) tuples."""
    parser = make_parser(fmt, **options)
    framer = LineFramer(max_record=MAX_RECORD, origin="fuzz")
    frames, letters = [], []
    for chunk in chunks:
        pieces, bad = framer.push(chunk)
        df, more = parser.parse_pieces(pieces, origin="fuzz")
        letters += bad + more
        if df is not None:
            frames.append(df)
    tail, bad = framer.finish(at_eof=True)
    df, more = parser.parse(tail, origin="fuzz", offset=framer.offset - len(tail) + 1)
    letters += bad + more
    if df is not None:
        frames.append(df)
    for d in letters:
        assert len(d.raw) <= MAX_RAW_KEPT and len(d.reason) <= MAX_REASON
        assert d.origin == "fuzz"
    rows = pd.concat(frames, ignore_index=True) if frames else None
    return rows, sorted((d.raw, d.reason, d.offset) for d in letters)


def same(a, b) -> None:
    if a is None or b is None:
        assert a is None and b is None
    else:
        pd.testing.assert_frame_equal(a, b)


FORMATS = {
    "csv": {"columns": ["a", "b", "c"], "dtypes": {"a": "str", "b": "str", "c": "str"}},
    "csv-int": {"columns": ["a", "b"], "dtypes": {"a": "int64", "b": "str"}},
    "jsonl": {"dtypes": {}},
    "text": {},
    "syslog": {},
}


def fmt_of(name: str) -> str:
    return name.split("-")[0]


# -- arbitrary bytes -----------------------------------------------------------------------------
@FUZZ
@given(
    name=st.sampled_from(sorted(FORMATS)),
    data=RAW,
    cuts=st.lists(st.integers(0, 2000), max_size=8),
)
def test_arbitrary_bytes_same_answer_every_cut(name, data, cuts):
    options = FORMATS[name]
    cuts = [c for c in cuts if c <= len(data)]
    answers = [
        run(fmt_of(name), options, cuts_of(data, how, cuts)) for how in ("one", "lines", "cut")
    ]
    for rows, letters in answers[1:]:
        same(rows, answers[0][0])
        assert letters == answers[0][1]


@FUZZ
@given(name=st.sampled_from(sorted(FORMATS)), data=RAW)
def test_arbitrary_bytes_every_record_is_a_row_or_a_dead_letter(name, data):
    """Each non-blank line is exactly one row or one dead letter, at its own offset."""
    data = data if data.endswith(b"\n") else data + b"\n"
    rows, letters = run(fmt_of(name), FORMATS[name], [data])
    lines = data.split(b"\n")[:-1]
    long_lines = [line for line in lines if len(line) > MAX_RECORD]
    counted = [  # a text stream keeps blank lines as rows; the others skip them
        line
        for line in lines
        if len(line) <= MAX_RECORD and (name == "text" or line.rstrip(b"\r").strip())
    ]
    n_rows = 0 if rows is None else len(rows)
    assert n_rows + len(letters) == len(counted) + len(long_lines)
    starts = {}
    pos = 0
    for line in lines:
        starts.setdefault(pos, line)
        pos += len(line) + 1
    for raw, _, offset in letters:
        assert offset in starts and starts[offset].rstrip(b"\r").startswith(raw[:MAX_RECORD])


# -- typed CSV against pandas ----------------------------------------------------------------------
INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=',"'),
    max_size=8,
).filter(lambda s: s.strip() and s.strip().lower() not in _PANDAS_NA)
_PANDAS_NA = {"", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan",
              "<na>", "n/a", "na", "nan", "null", "none"}  # fmt: skip

BAD_CSV = [
    (b"", "missing value, and int64 has none (declare 'Int64' to allow missing values)"),
    (b"3.5", "'3.5' is not a whole number, not an int64"),
    (b"true", "'true' is not a valid int64"),
    (b"99999999999999999999999", "'99999999999999999999999' is out of range for int64"),
    (b"-9223372036854775809", "'-9223372036854775809' is out of range for int64"),
    (b"abc", "'abc' is not a valid int64"),
]


@FUZZ
@given(
    good=st.lists(st.tuples(INT64, FLOATS, TEXT), min_size=1, max_size=30),
    bad=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(BAD_CSV)), max_size=5),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
    crlf=st.booleans(),
)
def test_csv_declared_types_against_pandas(good, bad, cuts, crlf):
    """Good rows equal pandas' read of the good lines with the same dtypes; each bad int field
    is a dead letter naming the column, the value and the type; any cut gives the same."""
    end = b"\r\n" if crlf else b"\n"
    lines = [f"{i},{f!r},{t}".encode() for i, f, t in good]
    expected_dead = []
    for at, (field, _) in sorted(bad, key=lambda b: b[0]):
        lines.insert(min(at, len(lines)), field + b",1.5,z")
    data = b"i,f,t" + end + b"".join(line + end for line in lines)
    reasons = {field + b",1.5,z": f"column 'i': {reason}" for field, reason in BAD_CSV}
    expected_dead = [
        (line, reasons[line], at)
        for line, at in zip(lines, _starts(lines, end, len(b"i,f,t" + end)), strict=True)
        if line in reasons
    ]
    dtypes = {"i": "int64", "f": "float64", "t": "str"}
    options = {"dtypes": dtypes}
    for chunks in (
        [data],
        cuts_of(data, "lines"),
        cuts_of(data, "cut", [c for c in cuts if c <= len(data)]),
    ):
        rows, letters = run("csv", options, chunks)
        reference = pd.read_csv(
            io.BytesIO(b"i,f,t\n" + b"".join(f"{i},{f!r},{t}\n".encode() for i, f, t in good)),
            dtype=dtypes,
            keep_default_na=False,
        )
        pd.testing.assert_frame_equal(rows, reference)
        assert letters == sorted(expected_dead)


def _starts(lines: list[bytes], end: bytes, first: int = 0) -> list[int]:
    """The stream offset of each line."""
    out, pos = [], first
    for line in lines:
        out.append(pos)
        pos += len(line) + len(end)
    return out


# -- typed JSON lines against json.loads -----------------------------------------------------------
JSON_BAD = [
    (b'{"n": true, "x": 1.5}', "column 'n': True is a boolean, not an int64"),
    (b'{"n": 18446744073709551615, "x": 1.5}', "column 'n': 18446744073709551615 is out of range for int64"),
    (b'{"n": 99999999999999999999999, "x": 1.5}', "column 'n': 99999999999999999999999 is out of range for int64"),
    (b'{"n": 2.5, "x": 1.5}', "column 'n': 2.5 is not a whole number, not an int64"),
    (b'{"n": null, "x": 1.5}', "column 'n': missing value, and int64 has none (declare 'Int64' to allow missing values)"),
    (b'{"x": 1.5}', "column 'n': missing value, and int64 has none (declare 'Int64' to allow missing values)"),
    (b'{"n": 1, "x": "warm"}', "column 'x': 'warm' is not a valid float64"),
    (b'{"n": 1, "x": false}', "column 'x': False is a boolean, not a float64"),
    (b'{"n": 1, "x": 1.5', "invalid JSON: Expecting ',' delimiter at column 18"),
    (b'[1, 2]', "JSON value is a list, not an object"),
]  # fmt: skip


@FUZZ
@given(
    good=st.lists(st.tuples(INT64, FLOATS), min_size=1, max_size=30),
    bad=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(JSON_BAD)), max_size=5),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
)
def test_jsonl_declared_types_against_json(good, bad, cuts):
    lines = [json.dumps({"n": n, "x": x}).encode() for n, x in good]
    for at, (line, _) in sorted(bad, key=lambda b: b[0]):
        lines.insert(min(at, len(lines)), line)
    data = b"".join(line + b"\n" for line in lines)
    reasons = dict(JSON_BAD)
    expected_dead = sorted(
        (line, reasons[line], at)
        for line, at in zip(lines, _starts(lines, b"\n"), strict=True)
        if line in reasons
    )
    reference = pd.DataFrame.from_records(
        [json.loads(line) for line in lines if line not in reasons]
    )
    objects = [json.loads(line) for line in lines if line.startswith(b"{") and line.endswith(b"}")]
    order = list(dict.fromkeys(k for o in objects for k in o))  # keys in order of first sight
    reference = reference.astype({"n": "int64", "x": "float64"})[order]
    for chunks in (
        [data],
        cuts_of(data, "lines"),
        cuts_of(data, "cut", [c for c in cuts if c <= len(data)]),
    ):
        rows, letters = run("jsonl", {"dtypes": {"n": "int64", "x": "float64"}}, chunks)
        pd.testing.assert_frame_equal(rows, reference)
        assert letters == expected_dead


# -- the cases users hit ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "options", "data", "rows", "dead"),
    [
        (
            "csv",
            {"columns": ["t", "k", "v"], "dtypes": {"t": "int64", "k": "int64", "v": "float64"}},
            b"1,2,3.5\n,,\n4,5,6\n",
            {"t": [1, 4], "k": [2, 5], "v": [3.5, 6.0]},
            [(b",,", "column 't': missing value, and int64 has none (declare 'Int64' to allow missing values)")],
        ),
        (
            "csv",
            {"columns": ["t", "k", "v"], "dtypes": {"t": "Int64", "k": "Int64", "v": "Float64"}},
            b"1,2,3.5\n,,\n",
            {"t": [1, None], "k": [2, None], "v": [3.5, None]},
            [],
        ),
        (
            "csv",
            {"columns": ["n"], "dtypes": {"n": "int64"}},
            b"1\n99999999999999999999999\n18446744073709551615\n",
            {"n": [1]},
            [
                (b"99999999999999999999999", "column 'n': '99999999999999999999999' is out of range for int64"),
                (b"18446744073709551615", "column 'n': '18446744073709551615' is out of range for int64"),
            ],
        ),
        (
            "csv",
            {"columns": ["n", "s"], "dtypes": {"n": "int64"}},
            b"9007199254740993,\n9007199254740995,x\n",
            {"n": [9007199254740993, 9007199254740995], "s": [None, "x"]},
            [],
        ),
        (
            "jsonl",
            {"dtypes": {"n": "int64"}},
            b'{"n": 18446744073709551615}\n{"n": true}\n{"n": 99999999999999999999999}\n{"n": 5}\n',
            {"n": [5]},
            [
                (b'{"n": 18446744073709551615}', "column 'n': 18446744073709551615 is out of range for int64"),
                (b'{"n": true}', "column 'n': True is a boolean, not an int64"),
                (b'{"n": 99999999999999999999999}', "column 'n': 99999999999999999999999 is out of range for int64"),
            ],
        ),
        (
            "csv",
            {"columns": ["a", "b"]},
            b"1,x\ry\n2,z\n",
            {"a": [2], "b": ["z"]},
            [(b"1,x\ry", "carriage return (\\r) inside a record; records end with \\n or \\r\\n")],
        ),
        (
            "csv",
            {"columns": ["a", "b"]},
            b'1,x\ry\n2,"z"\n',
            {"a": [2], "b": ["z"]},
            [(b"1,x\ry", "carriage return (\\r) inside a record; records end with \\n or \\r\\n")],
        ),
    ],
    ids=["empty-int64", "nullable", "int-overflow", "int-exact-beyond-2**53", "json-ints", "cr-fast", "cr-slow"],
)  # fmt: skip
def test_declared_types_are_kept(fmt, options, data, rows, dead):
    got, letters = run(fmt, options, [data])
    declared = options.get("dtypes", {})
    for col, values in rows.items():
        assert [None if pd.isna(v) else v for v in got[col]] == values
        if col in declared:
            assert got[col].dtype == pd.api.types.pandas_dtype(declared[col])
    assert [(raw, reason) for raw, reason, _ in letters] == sorted(dead)


def test_a_huge_bad_value_makes_a_small_dead_letter():
    value = b"w" * 1_000_000
    rows, letters = run(
        "csv", {"columns": ["n"], "dtypes": {"n": "float64"}}, [b"1\n" + value + b"\n2\n"]
    )
    framer_limit = [reason for _, reason, _ in letters]
    assert rows["n"].tolist() == [1.0, 2.0]
    assert framer_limit == ["record of 1000000 bytes is longer than max_record=200 bytes"]
    parser = make_parser("csv", columns=["n"], dtypes={"n": "float64"})
    _, bad = parser.parse(b"1\n" + value + b"\n", origin="big")
    assert len(bad) == 1 and len(bad[0].reason) < 200 and bad[0].size == len(value)
    assert bad[0].reason.startswith("column 'n': 'wwww") and "(1000002 characters)" in bad[0].reason
    assert len(bad[0].raw) == MAX_RAW_KEPT


def test_widening_is_stable_and_announced_once(caplog):
    """Without declared types a column changes type at most once per need, never back."""
    parser = make_parser("jsonl")
    kinds = []
    with caplog.at_level("WARNING", logger="streamlab"):
        for line in [
            b'{"n": 1}',
            b'{"n": 2}',
            b'{"n": null}',
            b'{"n": 3}',
            b'{"n": 1.5}',
            b'{"n": 4}',
        ]:
            df, bad = parser.parse(line + b"\n", origin="j")
            assert bad == []
            kinds.append(str(df["n"].dtype))
    assert kinds == ["int64", "int64", "Int64", "Int64", "float64", "float64"]
    assert parser.schema_changes == 2 and len(caplog.records) == 2
    assert df["n"].tolist() == [4.0]
