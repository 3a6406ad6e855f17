"""JsonlParser and TextParser: dead letters with exact reasons and offsets; json.loads and
str.splitlines are the references."""

from __future__ import annotations

import json
from itertools import pairwise

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.parse import JsonlParser, TextParser

from support import parse_all


def records(frames) -> list[dict]:
    return [r for df in frames for r in df.to_dict("records")]


def batches_of(lines: list[bytes], cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
    return [b"".join(lines[a:b]) for a, b in pairwise(bounds)]


# -- JSON Lines ----------------------------------------------------------------------------
GOOD = [b'{"id": %d, "x": %d.5, "name": "n%d"}' % (i, i, i) for i in range(1, 5)]
FIRST = b'{"id": 0, "x": 0.5, "name": "n0"}\n'  # a first clean batch fixes the schema

BAD = [
    (
        "bad JSON",
        b"{bad",
        "invalid JSON: Expecting property name enclosed in double quotes at column 2",
    ),
    ("unterminated", b'{"id": 9', "invalid JSON: Expecting ',' delimiter at column 9"),
    (
        "trailing comma",
        b'{"id": 9,}',
        "invalid JSON: Expecting property name enclosed in double quotes at column 10",
    ),
    (
        "control character",
        b'{"name": "a\tb"}',
        "invalid JSON: Invalid control character at column 12",
    ),
    ("list", b"[1, 2]", "JSON value is a list, not an object"),
    ("string", b'"text"', "JSON value is a string, not an object"),
    ("number", b"3.5", "JSON value is a number, not an object"),
    ("null", b"null", "JSON value is null, not an object"),
    ("boolean", b"true", "JSON value is a boolean, not an object"),
    ("two objects", b'{"id": 9}{"id": 10}', "invalid JSON: Extra data at column 10"),
    ("two objects, comma", b'{"id": 9},{"id": 10}', "invalid JSON: Extra data at column 10"),
    ("invalid UTF-8", b'{"id": 9, "name": "\xff"}', "invalid UTF-8 at byte 19"),
    (
        "not an int",
        b'{"id": "zz", "x": 1.5, "name": "q"}',
        "column 'id': 'zz' is not a valid int64",
    ),
    (
        "not a float",
        b'{"id": 9, "x": "zz", "name": "q"}',
        "column 'x': 'zz' is not a valid float64",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
@pytest.mark.parametrize("where", [0, 2, 4])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_jsonl_bad_line_table(raw, reason, where, eol):
    lines = [*GOOD[:where], raw, *GOOD[where:]]
    batches = [FIRST, b"".join(line + eol for line in lines)]
    stream = b"".join(batches)
    frames, dead = parse_all(JsonlParser(), batches)
    assert dead == [(raw, reason, stream.index(b"\n" + raw + eol) + 1)]
    assert records(frames) == [json.loads(line) for line in [FIRST, *GOOD]]
    assert [str(t) for t in frames[-1].dtypes[:2]] == ["int64", "float64"]
    assert pd.api.types.is_string_dtype(frames[-1]["name"])


def test_jsonl_bad_line_and_schema_failure_in_one_batch():
    """Row positions must skip the dropped lines (this used to crash)."""
    parser = JsonlParser(time_column="t")
    parser.parse(b'{"t": 1700000000, "v": 1}\n', origin="j")
    data = b'{"t": 1700000001, "v": 2}\n[1]\n{"t": 1700000002, "v": "zz"}\n{oops\n{"v": 3}\n' + (
        b'{"t": 1700000003, "v": 4}\n'
    )
    df, bad = parser.parse(data, origin="j", offset=1000)
    expected = [
        (b"[1]", "JSON value is a list, not an object"),
        (b'{"t": 1700000002, "v": "zz"}', "column 'v': 'zz' is not a valid int64"),
        (b"{oops", "invalid JSON: Expecting property name enclosed in double quotes at column 2"),
        (b'{"v": 3}', "time column 't' is missing"),
    ]
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (raw, reason, 1000 + data.index(raw)) for raw, reason in expected
    ]
    assert df["v"].tolist() == [2, 4]
    assert df["t"].tolist() == pd.to_datetime([1700000001, 1700000003], unit="s", utc=True).tolist()


def test_jsonl_nested_values_and_strings_are_kept():
    lines = [
        b'{"id": "007", "n": {"a": [1, {"b": null}]}, "l": [1, 2], "e": {}}',
        b'{"id": "010", "n": {"a": []}, "l": [], "e": {"k": true}}',
    ]
    df, bad = JsonlParser().parse(b"\n".join(lines) + b"\n", origin="j")
    assert bad == []
    assert df.to_dict("records") == [json.loads(line) for line in lines]


@pytest.mark.parametrize(
    ("first", "later", "column", "expected"),
    [
        (b'{"a": 1, "b": 2}', b'{"a": 3}', "b", [None]),  # used to crash (NaN into int64)
        (b'{"a": 1, "ok": true}', b'{"a": 3}', "ok", [None]),  # used to become True
        (b'{"a": 1, "ok": true}', b'{"a": 3, "ok": false}\n{"a": 4}', "ok", [False, None]),
        (b'{"a": 1, "x": 2}', b'{"a": 3, "x": "1.5"}', "x", [1.5]),  # used to become 1
        (b'{"a": 1, "x": 2}', b'{"a": 3, "x": 2.5}', "x", [2.5]),
    ],
)
def test_jsonl_schema_changes_lose_nothing(first, later, column, expected):
    parser = JsonlParser()
    parser.parse(first + b"\n", origin="j")
    df, bad = parser.parse(later + b"\n", origin="j")
    assert bad == [] and parser.schema_changes == 1
    assert [None if pd.isna(v) else v for v in df[column]] == expected
    assert df["a"].tolist() == [json.loads(line)["a"] for line in later.split(b"\n")]


T = pd.Timestamp("2023-11-14 22:13:20", tz="UTC")


@pytest.mark.parametrize(
    ("value", "expected", "unit"),
    [
        ('"2023-11-14T22:13:20Z"', T, None),
        ('"2023-11-14T23:13:20+01:00"', T, None),
        ("1700000000", T, "Int64"),
        ("1700000000500", T + pd.Timedelta("500ms"), "Int64"),
    ],
)
def test_jsonl_event_time(value, expected, unit):
    parser = JsonlParser(time_column="t")
    first = b'{"t": %s, "v": 1}\n' % value.encode()
    df, bad = parser.parse(first, origin="j")
    assert bad == [] and df["t"].tolist() == [expected] and df["v"].tolist() == [1]
    assert str(df["t"].dtype) == "datetime64[ns, UTC]" and df.attrs["time_column"] == "t"
    data = b'{"v": 2}\n{"t": null, "v": 3}\n{"t": "bad", "v": 4}\n{"t": %s, "v": 5}\n' % (
        value.encode()
    )
    df, bad = parser.parse(data, origin="j", offset=len(first))
    assert df["t"].tolist() == [expected] and df["v"].tolist() == [5]
    bad_reason = (
        f"column 't': 'bad' is not a valid {unit}"
        if unit
        else "time column 't': 'bad' is not a timestamp (expected ISO 8601)"
    )
    stream = first + data
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (raw, reason, stream.index(raw))
        for raw, reason in [
            (b'{"v": 2}', "time column 't' is missing"),
            (b'{"t": null, "v": 3}', "time column 't' is missing"),
            (b'{"t": "bad", "v": 4}', bad_reason),
        ]
    ]


def test_jsonl_numbers_among_iso_strings_are_dead_not_guessed():
    data = b'{"t": "2023-11-14T22:13:20Z"}\n{"t": 5}\n{"t": "2023-11-14T22:13:20Z"}\n'
    df, bad = JsonlParser(time_column="t").parse(data, origin="j")
    assert df["t"].tolist() == [T, T]
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (b'{"t": 5}', "time column 't': 5 is not a timestamp (expected ISO 8601)", 30)
    ]


def test_jsonl_split_value_and_two_objects_compensating():
    data = b'{"a": [1\n2]}\n{"c": 3},{"d": 4}\n'
    df, bad = JsonlParser().parse(data, origin="j")
    assert df is None and len(bad) == 3


LEAF = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
NESTED = st.recursive(
    LEAF,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
    max_leaves=6,
).filter(lambda v: isinstance(v, list | dict))
RECORD = st.fixed_dictionaries(
    {
        "i": st.integers(-(2**53), 2**53),
        "f": st.floats(allow_nan=False, allow_infinity=False),
        "s": st.text(max_size=8),
        "n": NESTED,
    }
)
INJECT = [
    (b"{bad", "invalid JSON: Expecting property name enclosed in double quotes at column 2"),
    (b"[1]", "JSON value is a list, not an object"),
    (b"null", "JSON value is null, not an object"),
    (b'{"i": 1}{"i": 2}', "invalid JSON: Extra data at column 9"),
    (b'{"i": 1},{"i": 2}', "invalid JSON: Extra data at column 9"),
    (b'{"s": "\xff"}', "invalid UTF-8 at byte 7"),
    (b'{"i": "zz", "f": 1.5, "s": "q", "n": []}', "column 'i': 'zz' is not a valid int64"),
    (b"", None),  # a blank line: neither a row nor a dead letter
]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    rows=st.lists(RECORD, min_size=1, max_size=25),
    bad=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(INJECT)), max_size=8),
    cuts=st.lists(st.integers(0, 40), max_size=8),
    crlf=st.booleans(),
    ascii_only=st.booleans(),
)
def test_jsonl_reference(rows, bad, cuts, crlf, ascii_only):
    eol = b"\r\n" if crlf else b"\n"
    good = [json.dumps(r, ensure_ascii=ascii_only).encode() + eol for r in rows]
    rest: list[tuple[bytes, tuple | None]] = [(g, None) for g in good[1:]]
    for pos, (raw, reason) in bad:
        rest.insert(pos % (len(rest) + 1), (raw + eol, reason and (raw, reason)))
    expected_dead, pos = [], len(good[0])
    for line, info in rest:
        if info is not None:
            expected_dead.append((*info, pos))
        pos += len(line)
    batches = [good[0], *batches_of([line for line, _ in rest], cuts)]
    frames, dead = parse_all(JsonlParser(), batches)
    assert dead == expected_dead
    assert records(frames) == [json.loads(g) for g in good]
    assert {str(df["i"].dtype) for df in frames} == {"int64"}
    assert {str(df["f"].dtype) for df in frames} == {"float64"}


# -- text ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "lines", "dead"),
    [
        (b"a\nb\n", ["a", "b"], []),
        (b"a\r\nb\r\n", ["a", "b"], []),
        (b"a\n\n\r\nb\n", ["a", "", "", "b"], []),
        (b"\n", [""], []),
        (b" x \t\n", [" x \t"], []),
        (b"a\rb\n", ["a\rb"], []),  # records end at a newline only
        (b"0\n1\n007\n", ["0", "1", "007"], []),  # text, however numeric it looks
        (b"1.5\n\nnan\n", ["1.5", "", "nan"], []),
        ("café €\n".encode(), ["café €"], []),
        (b"a\r\n\xffb\r\nc\n", ["a", "c"], [(b"\xffb", "invalid UTF-8 at byte 0", 103)]),
        (b"caf\xc3\xa9\nab\xc3\n", ["café"], [(b"ab\xc3", "invalid UTF-8 at byte 2", 106)]),
        (
            b"ok\r\n\r\nx\xed\xa0\x80\n",
            ["ok", ""],
            [(b"x\xed\xa0\x80", "invalid UTF-8 at byte 1", 106)],
        ),
        (
            b"\xff\n\xfe\n",
            None,
            [(b"\xff", "invalid UTF-8 at byte 0", 100), (b"\xfe", "invalid UTF-8 at byte 0", 102)],
        ),
    ],
)
def test_text_table(data, lines, dead):
    df, bad = TextParser().parse(data, origin="t", offset=100)
    assert (None if df is None else df["line"].tolist()) == lines
    assert [(b.raw, b.reason, b.offset) for b in bad] == dead


def test_text_nothing_to_parse():
    assert TextParser().parse(b"", origin="t") == (None, [])


def test_text_stays_text_across_batches():
    frames, dead = parse_all(TextParser(), [b"1\n2\n", b"x\n3\n", b"4.0\n"])
    assert dead == [] and [s for df in frames for s in df["line"]] == ["1", "2", "x", "3", "4.0"]


TEXT_LINE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    max_size=12,
)
BAD_TEXT = [
    (b"ab\xffcd", "invalid UTF-8 at byte 2"),
    (b"\xc3", "invalid UTF-8 at byte 0"),
    (b"x\xed\xa0\x80", "invalid UTF-8 at byte 1"),
    (b"\xe2\x82", "invalid UTF-8 at byte 0"),
]


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    lines=st.lists(st.tuples(TEXT_LINE, st.booleans()), max_size=30),
    bad=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(BAD_TEXT)), max_size=6),
    cuts=st.lists(st.integers(0, 40), max_size=8),
)
def test_text_reference(lines, bad, cuts):
    stream: list[tuple[bytes, tuple | None]] = [
        (s.encode() + (b"\r\n" if crlf else b"\n"), None) for s, crlf in lines
    ]
    for pos, (raw, reason) in bad:
        stream.insert(pos % (len(stream) + 1), (raw + b"\n", (raw, reason)))
    expected_dead, pos = [], 0
    for line, info in stream:
        if info is not None:
            expected_dead.append((*info, pos))
        pos += len(line)
    frames, dead = parse_all(TextParser(), batches_of([line for line, _ in stream], cuts))
    assert dead == expected_dead
    good = b"".join(line for line, info in stream if info is None).decode()
    assert [s for df in frames for s in df["line"]] == good.splitlines()
