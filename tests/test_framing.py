"""LineFramer: complete newline-terminated records out of a byte stream, long records cut out."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.core.deadletter import MAX_RAW_KEPT
from streamlab.parse import DEFAULT_MAX_RECORD, LineFramer

MAX = 8
L10 = b"0123456789"  # 10 bytes: longer than MAX
L13 = b"0123456789xyz"


def too_long(size: int, max_record: int = MAX) -> str:
    return f"record of {size} bytes is longer than max_record={max_record} bytes"


def cut(size: int) -> str:
    return f"connection closed in the middle of a record ({size} bytes without a newline)"


def run(pushes, *, max_record=MAX, at_eof=True):
    """Feed ``pushes``; return (non-empty (chunk, start) pairs, finish tail, dead letters)."""
    f = LineFramer(max_record=max_record, origin="src")
    chunks, dead = [], []
    for data in pushes:
        pieces, bad = f.push(data)
        assert f.buffered <= max_record
        for chunk, start in pieces:
            assert chunk and chunk.endswith(b"\n")
            chunks.append((chunk, start))
        dead += bad
    tail, bad = f.finish(at_eof=at_eof)
    dead += bad
    assert f.buffered == 0
    assert all(d.origin == "src" for d in dead)
    return chunks, tail, [(d.reason, d.offset, d.size, d.raw) for d in dead]


def reference(stream: bytes, max_record: int, at_eof: bool):
    """What framing ``stream`` must give, by plain splitting: (good bytes, dead letters)."""
    *lines, tail = stream.split(b"\n")
    good, dead, pos = [], [], 0
    for line in lines:
        if len(line) > max_record:
            dead.append((too_long(len(line), max_record), pos, len(line), line[:MAX_RAW_KEPT]))
        else:
            good.append(line + b"\n")
        pos += len(line) + 1
    if len(tail) > max_record:
        dead.append((too_long(len(tail), max_record), pos, len(tail), tail[:MAX_RAW_KEPT]))
    elif tail and at_eof:
        good.append(tail + b"\n")
    elif tail:
        dead.append((cut(len(tail)), pos, len(tail), tail))
    return b"".join(good), dead


# pushes, at_eof, expected (chunk, start) pairs, expected finish tail
CLEAN = [
    ([b"ab\n", b"cd\n"], True, [(b"ab\n", 0), (b"cd\n", 3)], b""),
    ([b"a", b"b\nc", b"d\n"], True, [(b"ab\n", 0), (b"cd\n", 3)], b""),
    ([b"ab\ncd\nef\n"], True, [(b"ab\ncd\nef\n", 0)], b""),
    ([b"a", b"b", b"c", b"\n"], True, [(b"abc\n", 0)], b""),
    ([b"a\r", b"\nb\r\n"], True, [(b"a\r\nb\r\n", 0)], b""),
    ([b"a\r\n", b"b\r", b"\n"], True, [(b"a\r\n", 0), (b"b\r\n", 3)], b""),
    ([b"", b"ab", b"", b"\n", b""], True, [(b"ab\n", 0)], b""),
    ([b""], True, [], b""),
    ([b"\n\n", b"x\n"], True, [(b"\n\n", 0), (b"x\n", 2)], b""),
    ([b"ab\ncd"], True, [(b"ab\n", 0)], b"cd\n"),
    ([b"01234567\n"], True, [(b"01234567\n", 0)], b""),  # exactly max_record: fine
    ([b"0123", b"4567\n"], True, [(b"01234567\n", 0)], b""),
    ([b"01234567"], True, [], b"01234567\n"),
]


@pytest.mark.parametrize(("pushes", "at_eof", "chunks", "tail"), CLEAN)
def test_clean_records(pushes, at_eof, chunks, tail):
    assert run(pushes, at_eof=at_eof) == (chunks, tail, [])


@pytest.mark.parametrize(
    ("pushes", "chunks", "dead"),
    [
        ([b"ab\ncd"], [(b"ab\n", 0)], [(cut(2), 3, 2, b"cd")]),
        ([b"ab\n", b"c", b"d"], [(b"ab\n", 0)], [(cut(2), 3, 2, b"cd")]),
        ([b"xyz"], [], [(cut(3), 0, 3, b"xyz")]),
        ([b"a\n", b"01234567"], [(b"a\n", 0)], [(cut(8), 2, 8, b"01234567")]),
        ([b"a\r\nb\r"], [(b"a\r\n", 0)], [(cut(2), 3, 2, b"b\r")]),
    ],
)
def test_connection_closed_mid_record(pushes, chunks, dead):
    assert run(pushes, at_eof=False) == (chunks, b"", dead)


# pushes, at_eof, expected good bytes (all chunks + tail), expected dead letters
LONG = [
    ("one push alone", [L10 + b"\n"], True, b"", [(too_long(10), 0, 10, L10)]),
    ("max_record + 1", [b"012345678\n"], True, b"", [(too_long(9), 0, 9, b"012345678")]),
    ("max+1 split", [b"0123", b"45678", b"\n"], True, b"", [(too_long(9), 0, 9, b"012345678")]),
    (
        "middle, one push",
        [b"ok\n" + L10 + b"\nfine\n"],
        True,
        b"ok\nfine\n",
        [(too_long(10), 3, 10, L10)],
    ),
    (
        "middle, CRLF",
        [b"ok\r\n" + L10 + b"\r\nfine\r\n"],
        True,
        b"ok\r\nfine\r\n",
        [(too_long(11), 4, 11, L10 + b"\r")],
    ),
    (
        "two in one push",
        [b"a\n" + L10 + b"\nb\n" + L13 + b"\nc\n"],
        True,
        b"a\nb\nc\n",
        [(too_long(10), 2, 10, L10), (too_long(13), 15, 13, L13)],
    ),
    (
        "many pushes",
        [b"ok\n01", b"2345", b"6789", b"xyz", b"\nfine\n"],
        True,
        b"ok\nfine\n",
        [(too_long(13), 3, 13, L13)],
    ),
    (
        "byte by byte",
        [bytes([b]) for b in b"ok\n" + L13 + b"\nfine\n"],
        True,
        b"ok\nfine\n",
        [(too_long(13), 3, 13, L13)],
    ),
    (
        "newline in a later push",
        [b"ok\n" + L10, b"xyz\nfine\n"],
        True,
        b"ok\nfine\n",
        [(too_long(13), 3, 13, L13)],
    ),
    ("at the end, eof", [b"ok\n" + L10], True, b"ok\n", [(too_long(10), 3, 10, L10)]),
    ("at the end, closed", [b"ok\n" + L10], False, b"ok\n", [(too_long(10), 3, 10, L10)]),
    (
        "at the end, split, eof",
        [b"ok\n0123", b"456789"],
        True,
        b"ok\n",
        [(too_long(10), 3, 10, L10)],
    ),
    (
        "at the end, split, closed",
        [b"ok\n0123", b"456789"],
        False,
        b"ok\n",
        [(too_long(10), 3, 10, L10)],
    ),
]


@pytest.mark.parametrize(
    ("pushes", "at_eof", "good", "dead"), [c[1:] for c in LONG], ids=[c[0] for c in LONG]
)
def test_long_records(pushes, at_eof, good, dead):
    chunks, tail, got_dead = run(pushes, at_eof=at_eof)
    assert b"".join(c for c, _ in chunks) + tail == good
    assert got_dead == dead
    assert (good, dead) == reference(b"".join(pushes), MAX, at_eof)


def test_start_offset_after_long_record_cut_from_one_push():
    chunks, _, _ = run([b"ok\n" + L10 + b"\nfine\n"])
    stream = b"ok\n" + L10 + b"\nfine\n"
    assert all(stream[s : s + len(c)] == c for c, s in chunks)


@pytest.mark.parametrize("push", [MAX_RAW_KEPT // 2, 7000, 100 * 1024 + 1])
@pytest.mark.parametrize("tail", [b"\nnext\n", b""])
def test_raw_truncated_to_64k_size_is_full(push, tail):
    record = (bytes(range(256)) * 400).replace(b"\n", b"!")  # 102_400 bytes, no newline
    stream = b"a\n" + record + tail
    pushes = [stream[i : i + push] for i in range(0, len(stream), push)]
    chunks, last, dead = run(pushes, max_record=1024, at_eof=True)
    assert dead == [(too_long(len(record), 1024), 2, 102_400, record[:MAX_RAW_KEPT])]
    assert len(dead[0][3]) == MAX_RAW_KEPT == 65536
    assert b"".join(c for c, _ in chunks) + last == b"a\n" + tail[1:]


@pytest.mark.parametrize(("after", "at_eof"), [(b"", True), (b"", False), (b"\nok\n", True)])
def test_ten_megabyte_line_in_64k_pushes(after, at_eof):
    push, size = 64 * 1024, 10 * 1024 * 1024
    f = LineFramer(origin="big")
    piece = b"x" * push
    dead, out = [], []
    for _ in range(size // push):
        pieces, bad = f.push(piece)
        assert f.buffered <= DEFAULT_MAX_RECORD + push
        out += [c for c, _ in pieces]
        dead += bad
    pieces, bad = f.push(after)
    out += [c for c, _ in pieces]
    start = pieces[0][1] if pieces else None
    dead += bad
    tail, bad = f.finish(at_eof=at_eof)
    dead += bad
    assert [(d.reason, d.offset, d.size, len(d.raw)) for d in dead] == [
        (too_long(size, DEFAULT_MAX_RECORD), 0, size, MAX_RAW_KEPT)
    ]
    assert dead[0].raw == b"x" * MAX_RAW_KEPT
    assert b"".join(out) + tail == after[1:]
    if after:
        assert start == size + 1


short = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"."))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    records=st.lists(short, max_size=30),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(0, 400), max_size=20),
    at_eof=st.booleans(),
)
def test_property_concatenation_and_offsets(records, trailing, cuts, at_eof):
    stream = b"\n".join(records) + (b"\n" if trailing and records else b"")
    bounds = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    pushes = [stream[a:b] for a, b in pairwise(bounds)]
    chunks, tail, dead = run(pushes, max_record=64, at_eof=at_eof)
    emitted = 0
    for chunk, start in chunks:  # contiguous: each chunk starts where the last one ended
        assert start == emitted
        assert stream[start : start + len(chunk)] == chunk
        emitted += len(chunk)
    complete = stream[: stream.rfind(b"\n") + 1]
    rest = stream[len(complete) :]
    if at_eof:
        assert b"".join(c for c, _ in chunks) + tail == stream + (b"\n" if rest else b"")
        assert dead == []
    else:
        assert b"".join(c for c, _ in chunks) == complete and tail == b""
        assert dead == ([(cut(len(rest)), len(complete), len(rest), rest)] if rest else [])


mixed = st.one_of(short, st.binary(min_size=9, max_size=30).map(lambda b: b.replace(b"\n", b".")))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    records=st.lists(mixed, max_size=20),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(0, 600), max_size=20),
    at_eof=st.booleans(),
)
def test_property_long_records_match_reference(records, trailing, cuts, at_eof):
    stream = b"\n".join(records) + (b"\n" if trailing and records else b"")
    bounds = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    pushes = [stream[a:b] for a, b in pairwise(bounds)]
    chunks, tail, dead = run(pushes, max_record=MAX, at_eof=at_eof)
    assert (b"".join(c for c, _ in chunks) + tail, dead) == reference(stream, MAX, at_eof)
