"""CsvParser: bad lines become dead letters with exact reasons and offsets; pandas is the reference."""

from __future__ import annotations

import csv
import io
import re
import string
from itertools import pairwise

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.errors import ConfigError
from streamlab.parse import CsvParser, make_parser

import support

HEADER = b"id,x,name\n"
GOOD = [b"1,2.5,a", b"2,3.5,b", b"3,4.5,c", b"4,5.5,d"]
QUOTED = b'5,6.5,"e,f"'  # a quote in the batch: lines are checked one by one


def parse_all(parser, batches, origin="test"):
    """Parse ``batches`` in order; return (all rows as one frame or None, dead letters)."""
    frames, dead = support.parse_all(parser, batches, origin)
    return (pd.concat(frames, ignore_index=True) if frames else None), dead


def read(text: bytes, **kw) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(text), **kw)


BAD = [
    ("too many fields", b"9,1.5,z,extra", "expected 3 fields, saw 4"),
    ("too many, quoted", b'9,1.5,"z,y",extra', "expected 3 fields, saw 4"),
    ("trailing delimiter", b"9,1.5,z,", "expected 3 fields, saw 4"),
    ("too few fields", b"9,1.5", "expected 3 fields, saw 2"),
    ("one field", b"9", "expected 3 fields, saw 1"),
    ("not a number", b"9,abc,z", "column 'x': 'abc' is not a valid float64"),
    ("invalid UTF-8", b"9,1.5,z\xff", "invalid UTF-8 at byte 7"),
    ("truncated UTF-8", b"9,1.5,\xc3", "invalid UTF-8 at byte 6"),
    ("unbalanced quote", b'9,1.5,"z', "malformed CSV: unexpected end of data"),
]


@pytest.mark.parametrize(("raw", "reason"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
@pytest.mark.parametrize("where", [0, 2, 4])
@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
@pytest.mark.parametrize("schema", ["dtypes", "inferred"])
def test_bad_line_table(raw, reason, where, quoted, schema):
    good = [*GOOD, QUOTED] if quoted else list(GOOD)
    lines = [*good[:where], raw, *good[where:]]
    if schema == "dtypes":
        parser = CsvParser(dtypes={"x": "float64"})
        batches = [HEADER + b"".join(line + b"\n" for line in lines)]
    else:  # a first clean batch fixes x as float64
        parser = CsvParser()
        batches = [HEADER + b"0,0.5,z\n", b"".join(line + b"\n" for line in lines)]
    stream = b"".join(batches)
    df, dead = parse_all(parser, batches)
    assert dead == [(raw, reason, stream.index(b"\n" + raw + b"\n") + 1)]
    expected = HEADER + (b"0,0.5,z\n" if schema == "inferred" else b"")
    expected += b"".join(line + b"\n" for line in good)
    pd.testing.assert_frame_equal(df, read(expected))


def test_every_line_too_long_is_not_read_as_an_index():
    data = b"1,2,3\n4,5,6\n"
    df, bad = CsvParser(columns=["a", "b"]).parse(data, origin="o", offset=10)
    assert df is None
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (b"1,2,3", "expected 2 fields, saw 3", 10),
        (b"4,5,6", "expected 2 fields, saw 3", 16),
    ]


def test_int_column_inferred_from_first_batch():
    parser = CsvParser()
    df, dead = parse_all(parser, [b"id,x\n1,2\n", b"2,abc\n3,4\n", b"5,x1\n", b"6,7\n"])
    assert dead == [
        (b"2,abc", "column 'x': 'abc' is not a valid int64", 9),
        (b"5,x1", "column 'x': 'x1' is not a valid int64", 19),
    ]
    pd.testing.assert_frame_equal(df, read(b"id,x\n1,2\n3,4\n6,7\n"))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"a,a", "bad header: header must name each column once, not ['a', 'a']"),
        (b"a, a ", "bad header: header must name each column once, not ['a', 'a']"),
        (b"a,", "bad header: header must name each column once, not ['a', '']"),
        (b"a,\xffb", "bad header: invalid UTF-8 at byte 2"),
    ],
)
def test_bad_header_is_dead_and_the_next_line_is_the_header(header, reason):
    df, bad = CsvParser().parse(header + b"\r\nt,x\n1,2\n3,4\n", origin="h", offset=100)
    assert [(b.raw, b.reason, b.offset) for b in bad] == [(header, reason, 100)]
    pd.testing.assert_frame_equal(df, read(b"t,x\n1,2\n3,4\n"))


def test_header_bom_spaces_blank_lines_and_batch_boundaries():
    parser = CsvParser()
    assert parser.parse(b"\n\r\n", origin="h") == (None, [])
    assert parser.parse(b"\xef\xbb\xbf t , x \n", origin="h") == (None, [])
    df, bad = parser.parse(b"1,2\n", origin="h")
    assert bad == [] and df.to_dict("list") == {"t": [1], "x": [2]}


# -- reference comparison ------------------------------------------------------------------
TEXT = st.text(alphabet=string.ascii_letters + string.digits + ' ,"._-é€', max_size=8)
ROW = st.tuples(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT.map(lambda s: "s" + s),  # never numeric, never NA
)


def csv_line(values, eol: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=eol).writerow(values)
    return out.getvalue().encode()


def batches_of(lines: list[bytes], cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
    return [b"".join(lines[a:b]) for a, b in pairwise(bounds)]


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 40), max_size=8),
    crlf=st.booleans(),
)
def test_reference_random_batches(rows, cuts, crlf):
    eol = "\r\n" if crlf else "\n"
    lines = [csv_line(["i", "f", "s"], eol)] + [csv_line([i, repr(f), s], eol) for i, f, s in rows]
    df, dead = parse_all(CsvParser(), batches_of(lines, cuts))
    assert dead == []
    expected = read(b"".join(lines))
    pd.testing.assert_frame_equal(df, expected)
    assert df["i"].tolist() == [r[0] for r in rows]
    assert df["s"].tolist() == [r[2] for r in rows]


INJECT = [
    (b"1,2.5,sx,9", "expected 3 fields, saw 4"),
    (b'1,2.5,"s,x",9', "expected 3 fields, saw 4"),
    (b"1,2.5", "expected 3 fields, saw 2"),
    (b"7", "expected 3 fields, saw 1"),
    (b"1,2.5,s\xff", "invalid UTF-8 at byte 7"),
    (b'1,2.5,"sx', "malformed CSV: unexpected end of data"),
    (b"zz,2.5,sx", "column 'i': 'zz' is not a valid int64"),
    (b"1,zz,sx", "column 'f': 'zz' is not a valid float64"),
]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    first=st.integers(1, 5),
    bad=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(INJECT)), max_size=8),
    cuts=st.lists(st.integers(0, 40), max_size=8),
    crlf=st.booleans(),
)
def test_reference_with_bad_lines(rows, first, bad, cuts, crlf):
    eol = "\r\n" if crlf else "\n"
    header = csv_line(["i", "f", "s"], eol)
    good = [csv_line([i, repr(f), s], eol) for i, f, s in rows]
    schema_batch = header + b"".join(good[:first])  # a first clean batch fixes the schema
    rest: list[tuple[bytes, tuple | None]] = [(g, None) for g in good[first:]]
    for pos, (raw, reason) in bad:
        rest.insert(pos % (len(rest) + 1), (raw + eol.encode(), (raw, reason)))
    expected_dead, pos = [], len(schema_batch)
    for line, info in rest:
        if info is not None:
            expected_dead.append((*info, pos))
        pos += len(line)
    batches = [schema_batch, *batches_of([line for line, _ in rest], cuts)]
    df, dead = parse_all(CsvParser(), batches)
    assert dead == expected_dead
    pd.testing.assert_frame_equal(df, read(header + b"".join(good)))


# -- schema policy -------------------------------------------------------------------------
def test_int_column_widened_to_float():
    parser = CsvParser()
    parser.parse(b"t,x\n1,2\n2,3\n", origin="s")
    assert parser.schema_changes == 0
    df, bad = parser.parse(b"3,1.5\n4,abc\n5,2\n", origin="s")
    assert (bad[0].reason, df["x"].tolist(), str(df["x"].dtype)) == (
        "column 'x': 'abc' is not a valid float64",
        [1.5, 2.0],
        "float64",
    )
    assert parser.schema_changes == 1
    df, bad = parser.parse(b"6,7\n7,inf\n", origin="s")
    assert (bad, df["x"].tolist(), str(df["x"].dtype)) == ([], [7.0, float("inf")], "float64")
    assert parser.schema_changes == 1


@pytest.mark.parametrize("later", [b"9,1.5\n", b"9,inf\n", b"9,1.5\n8,zz\n"])
def test_int_column_never_truncates_or_crashes(later):
    parser = CsvParser()
    parser.parse(b"t,x\n1,2\n", origin="s")
    df, _ = parser.parse(later, origin="s")
    assert parser.schema_changes == 1
    pd.testing.assert_series_equal(
        df["x"], read(later.split(b"\n")[0] + b"\n", names=["t", "x"])["x"]
    )


def test_inferred_int_column_takes_a_missing_value_as_Int64_once(caplog):
    """An empty field in an inferred int64 column: the column becomes nullable Int64 for good
    (exact, the same Arrow type, so Parquet and SQLite sinks go on), counted and announced
    once; it never flips to float64 or back."""
    parser = CsvParser()
    parser.parse(b"t,x\n1,2\n", origin="s")
    with caplog.at_level("WARNING", logger="streamlab"):
        df, bad = parser.parse(b"9,\n10,9007199254740993\n", origin="s")
        later, _ = parser.parse(b"11,4\n", origin="s")
    assert bad == [] and str(df["x"].dtype) == "Int64" and str(later["x"].dtype) == "Int64"
    assert [None if v is pd.NA else v for v in df["x"]] == [None, 9007199254740993]
    assert later["x"].tolist() == [4]
    assert parser.schema_changes == 1
    assert parser.schema_log == [
        "column 'x' changed from int64 to Int64 to fit this batch's values"
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "csv: schema change: column 'x' changed from int64 to Int64 to fit this batch's values "
        "(declare dtypes= to fix the type)"
    ]


def test_text_column_keeps_leading_zeros():
    parser = CsvParser()
    parser.parse(b"id,code\n1,abc\n", origin="s")
    df, bad = parser.parse(b"2,007\n3,010\n4,\n", origin="s")
    assert bad == [] and df["code"].tolist()[:2] == ["007", "010"] and pd.isna(df["code"][2])
    assert df["id"].tolist() == [2, 3, 4]


def test_column_mostly_numbers_is_numeric_and_the_rest_dead():
    rows = [f"{i},{i * 1.5}" for i in range(9)] + ["9,oops"]
    data = ("k,x\n" + "\n".join(rows) + "\n").encode()
    df, bad = CsvParser().parse(data, origin="s")
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (b"9,oops", "column 'x': 'oops' is not a valid float64", data.index(b"9,oops"))
    ]
    assert df["x"].tolist() == [i * 1.5 for i in range(9)] and df["k"].tolist() == list(range(9))


def test_column_with_too_many_words_stays_text():
    data = b"k,x\n" + b"".join(f"{i},{i}\n".encode() for i in range(8)) + b"8,oops\n9,nope\n"
    df, bad = CsvParser().parse(data, origin="s")
    assert bad == []
    assert df["x"].tolist() == [str(i) for i in range(8)] + ["oops", "nope"]


@pytest.mark.parametrize(
    ("options", "data", "expected"),
    [
        ({"header": True}, b"x,y\n1,2\n", {"a": [1], "b": [2]}),
        ({"header": True}, b"\nx,y\r\n1,2\r\n", {"a": [1], "b": [2]}),
        ({}, b"x,y\n1,2\n", {"a": ["x", "1"], "b": ["y", "2"]}),
        ({"header": False}, b"1,2\n", {"a": [1], "b": [2]}),
        ({"delimiter": ";"}, b'1;"2;3"\n4;5,6\n', {"a": [1, 4], "b": ["2;3", "5,6"]}),
        ({"delimiter": "\t"}, b"1\tx y\n", {"a": [1], "b": ["x y"]}),
    ],
)
def test_columns_header_and_delimiter(options, data, expected):
    df, bad = CsvParser(columns=["a", "b"], **options).parse(data, origin="c")
    assert bad == [] and df.to_dict("list") == expected


# -- event time ------------------------------------------------------------------------------
T = pd.Timestamp("2023-11-14 22:13:20", tz="UTC")  # 1_700_000_000 s after the epoch


@pytest.mark.parametrize(
    ("values", "options", "expected"),
    [
        (
            ["2023-11-14T22:13:20Z", "2023-11-14T23:13:20.5+01:00"],
            {},
            [T, T + pd.Timedelta("0.5s")],
        ),
        (["2023-11-14 22:13:20"], {}, [T]),
        (["1700000000", "1700000001.5"], {}, [T, T + pd.Timedelta("1.5s")]),
        (["1700000000123"], {}, [T + pd.Timedelta("123ms")]),
        (["1700000000000123"], {}, [T + pd.Timedelta("123us")]),
        (["1700000000000000123"], {}, [T + pd.Timedelta("123ns")]),
        (["1700000000"], {"time_unit": "ms"}, [pd.Timestamp("1970-01-20 16:13:20", tz="UTC")]),
        (["1700000000000"], {"time_unit": "ms"}, [T]),
        (["14/11/2023 22:13:20"], {"time_format": "%d/%m/%Y %H:%M:%S"}, [T]),
    ],
)
def test_event_time(values, options, expected):
    data = ("t,x\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()
    df, bad = CsvParser(time_column="t", **options).parse(data, origin="e")
    assert bad == []
    assert str(df["t"].dtype) == "datetime64[ns, UTC]" and df.attrs["time_column"] == "t"
    assert df["t"].tolist() == expected and df["x"].tolist() == list(range(len(values)))


MISSING = "time column 't' is missing"


@pytest.mark.parametrize(
    ("good", "bad", "options", "reason"),
    [
        ("2023-11-14T22:13:20Z", "", {}, MISSING),
        (
            "2023-11-14T22:13:20Z",
            "nope",
            {},
            "time column 't': 'nope' is not a timestamp (expected ISO 8601)",
        ),
        (
            "2023-11-14T22:13:20Z",
            "2023-13-45T00:00:00Z",
            {},
            "time column 't': '2023-13-45T00:00:00Z' is not a timestamp (expected ISO 8601)",
        ),
        ("1700000000", "", {}, MISSING),
        ("1700000000", "1e30", {}, "time column 't': 1e+30 is not a timestamp in unit 's'"),
        (
            "14/11/2023 22:13:20",
            "2023-11-14",
            {"time_format": "%d/%m/%Y %H:%M:%S"},
            "time column 't': '2023-11-14' is not a timestamp (expected %d/%m/%Y %H:%M:%S)",
        ),
    ],
)
def test_event_time_dead_letters(good, bad, options, reason):
    data = f"t,x\n{good},1\n{bad},2\n{good},3\n".encode()
    df, dead = CsvParser(time_column="t", **options).parse(data, origin="e", offset=7)
    raw = f"{bad},2".encode()
    assert [(b.raw, b.reason, b.offset) for b in dead] == [(raw, reason, 7 + data.index(raw))]
    assert df["t"].tolist() == [T, T] and df["x"].tolist() == [1, 3]


def test_epoch_time_column_with_one_bad_value_in_first_batch():
    values = [str(1_700_000_000 + i) for i in range(9)] + ["abc"]
    data = ("t,x\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()
    df, bad = CsvParser(time_column="t").parse(data, origin="e")
    assert [(b.raw, b.reason) for b in bad] == [
        (b"abc,9", "column 't': 'abc' is not a valid float64")
    ]
    assert df["t"].tolist() == [T + pd.Timedelta(seconds=i) for i in range(9)]


def test_epoch_unit_stays_fixed_for_the_stream():
    parser = CsvParser(time_column="t")
    df1, _ = parser.parse(b"t,x\n1700000000,1\n", origin="e")
    df2, bad = parser.parse(b"1700000001,2\nabc,3\n", origin="e")
    assert [b.reason for b in bad] == ["column 't': 'abc' is not a valid int64"]
    df3, bad = parser.parse(b",4\n1700000002,5\n", origin="e")
    assert [b.reason for b in bad] == [MISSING]
    assert [*df1["t"], *df2["t"], *df3["t"]] == [T + pd.Timedelta(seconds=i) for i in range(3)]


# -- bad arguments -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: CsvParser(time_unit="sec"),
            "time_unit='sec' is not one of 's', 'ms', 'us', 'ns'. Did you mean 's'?",
        ),
        (
            lambda: CsvParser(delimiter=";;"),
            "delimiter must be one character other than a quote or newline, not ';;'",
        ),
        (
            lambda: CsvParser(delimiter='"'),
            "delimiter must be one character other than a quote or newline, not '\"'",
        ),
        (lambda: CsvParser(columns=["a", "b", "a"]), "columns must be unique, not ['a', 'b', 'a']"),
        (
            lambda: CsvParser(header=False),
            "header=False needs the column names: no line of the data names them; "
            "pass columns=['time', 'value'] (or leave header= unset)",
        ),
        (
            lambda: CsvParser(dtypes={"zz": "int64"}).parse(b"a,b\n1,2\n", origin="o"),
            "dtypes names columns ['zz'] that the data does not have; its columns are ['a', 'b']",
        ),
        (
            lambda: CsvParser(time_column="when").parse(b"t,x\n1,2\n", origin="o"),
            "time_column='when' is not a column of this stream; its columns are ['t', 'x']",
        ),
        (
            lambda: make_parser("cvs"),
            "format='cvs' is not one of 'csv', 'jsonl', 'text', 'syslog'. Did you mean 'csv'?",
        ),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        make()


def test_a_big_batch_typed_chunk_by_chunk_stays_exact():
    """read_csv types a big batch chunk by chunk. Here the int column's middle chunk holds a
    missing value (so its integers past 2**53 come out as rounded floats) and its last chunk a
    word (so the column comes out mixed): every integer stays exact, the bad records are dead
    letters, and the floats equal pandas' own reading of the good lines."""
    n = 400_000
    ints = [str(i) for i in range(n)]
    ints[150_000:150_003] = ["", "9007199254740993", "-9007199254740995"]
    ints[-2] = "abc"
    x = [f"{i * 0.1!r}" for i in range(n)]
    x[-5] = "warm"
    data = "".join(f"{i},{v}\n" for i, v in zip(ints, x, strict=True)).encode()
    parser = CsvParser(columns=["n", "x"], dtypes={"n": "int64", "x": "float64"})
    df, bad = parser.parse(data, origin="big")
    assert sorted(b.reason for b in bad) == [
        "column 'n': 'abc' is not a valid int64",
        "column 'n': missing value, and int64 has none (declare 'Int64' to allow missing values)",
        "column 'x': 'warm' is not a valid float64",
    ]
    assert df["n"].iloc[149_999:150_002].tolist() == [149_999, 9007199254740993, -9007199254740995]
    good = [
        line
        for line in data.split(b"\n")[:-1]
        if not (b"warm" in line or line.startswith((b",", b"abc,")))
    ]
    want = pd.read_csv(io.BytesIO(b"\n".join(good)), names=["n", "x"], dtype={"n": "int64"})
    pd.testing.assert_frame_equal(df, want)
