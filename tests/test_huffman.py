"""The Huffman DEFLATE codec against zlib, the reference deflater and inflater (RFC 1951)."""

from __future__ import annotations

import functools
import itertools
import math
import re
import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streamlab.compress import CodecError, codec
from streamlab.compress.deflate_write import tree_header
from streamlab.compress.huffman import HuffmanCodec, canonical_codes, code_lengths, pack_bits
from streamlab.errors import ConfigError

HUFF = HuffmanCodec()
STRATEGIES = {
    "default": zlib.Z_DEFAULT_STRATEGY,
    "filtered": zlib.Z_FILTERED,
    "huffman_only": zlib.Z_HUFFMAN_ONLY,
    "rle": zlib.Z_RLE,
    "fixed": zlib.Z_FIXED,
}
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def sample(kind: str, n: int) -> bytes:
    """Test data: sensor CSV text, random bytes, repetitive bytes, one byte repeated."""
    rng = np.random.default_rng([n, len(kind)])
    if kind == "text":
        rows = n // 28 + 1
        t = 1_700_000_000_000 + np.cumsum(rng.integers(1, 2000, rows))
        v, s = rng.normal(0, 1, rows), rng.integers(0, 10, rows)
        lines = (f"{a},{b:.3f},sensor-{c}\n" for a, b, c in zip(t, v, s, strict=True))
        return "".join(lines).encode()[:n]
    if kind == "random":
        return rng.bytes(n)
    if kind == "repetitive":  # a random 3000-byte phrase, repeated with a few changes
        data = np.resize(np.frombuffer(rng.bytes(3000), np.uint8), n)
        data[rng.integers(0, n, n // 500)] = 0
        return data.tobytes()
    if kind == "far":  # repeats 32,000 bytes back, near DEFLATE's longest distance (32 KiB)
        return (rng.bytes(32_000) * (n // 32_000 + 1))[:n]
    assert kind == "one_byte"
    return b"\x00" * n


def raw_deflate(data: bytes, level: int = 6, strategy: str = "default") -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, STRATEGIES[strategy])
    return compressor.compress(data) + compressor.flush()


def round_trip(data: bytes, huff: HuffmanCodec = HUFF) -> bytes:
    packed = huff.encode(data)
    assert zlib.decompress(packed, -15) == data
    assert huff.decode(packed) == data
    return packed


def lsb_bytes(*fields) -> bytes:
    """A bit stream written by hand, independently of the codec: ints ``(value, nbits)`` go
    least significant bit first, Huffman codes (strings like ``"0110"``) as written."""
    bits = "".join(f if isinstance(f, str) else f"{f[0]:0{f[1]}b}"[::-1][: f[1]] for f in fields)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8))


def fixed(symbol: int) -> str:
    """A symbol's code in the fixed literal/length code (RFC 1951 3.2.6)."""
    for first, last, bits, code in (
        (0, 143, 8, 0x30),
        (144, 255, 9, 0x190),
        (256, 279, 7, 0),
        (280, 287, 8, 0xC0),
    ):
        if first <= symbol <= last:
            return f"{code + symbol - first:0{bits}b}"
    raise AssertionError(symbol)


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "n"),
    [
        ("one_byte", 0),
        ("one_byte", 1),
        ("one_byte", 1_000_000),
        ("random", 100_000),
        ("text", 300_000),
        ("repetitive", 200_000),
        ("text", 10_000_000),
    ],
)
def test_round_trips_and_zlib_reads_the_output(kind, n):
    data = sample(kind, n)
    packed = round_trip(data)
    if kind == "one_byte" and n > 1:  # 1 bit per byte, plus a header per 64 KiB block
        assert len(packed) < n / 8 + 100 * (n // 65536 + 1)
    if kind == "random":  # stored blocks: 5 bytes per 65,535 bytes (so 2 per 64 KiB block)
        assert len(packed) <= n + 10 * (n // 65536 + 1)
    if kind == "text":  # within 1% of zlib's Huffman-only strategy
        assert len(packed) < 1.01 * len(raw_deflate(data, 6, "huffman_only"))


@BOUNDED
@given(data=st.binary(max_size=3000))
@example(data=b"")
@example(data=b"a")
@example(data=bytes(range(256)))
def test_any_bytes_round_trip(data):
    round_trip(data)


@BOUNDED
@given(
    data=st.lists(st.integers(0, 255) | st.sampled_from(b"aab\n"), max_size=8000).map(bytes),
    block_size=st.integers(1024, 4096),
)
def test_skewed_bytes_round_trip_in_many_small_blocks(data, block_size):
    round_trip(data, HuffmanCodec(block_size=block_size))


@BOUNDED
@given(text=st.text(max_size=3000))
def test_text_round_trips(text):
    round_trip(text.encode())


def test_blocks_adapt_their_code_to_the_data():
    data = b"a" * 50_000 + bytes(range(256)) * 10 + b"b" * 50_000
    small, large = HuffmanCodec(block_size=1 << 14), HuffmanCodec(block_size=1 << 20)
    assert len(round_trip(data, small)) < 0.8 * len(round_trip(data, large))


def test_registry_frames_and_parameters():
    huff = codec("huffman", block_size=1 << 17)
    assert isinstance(huff, HuffmanCodec) and huff.lossless and huff.block_size == 1 << 17
    df = pd.DataFrame({"t": pd.to_datetime([1, 2, 3], unit="s", utc=True), "x": [1.5, None, 2]})
    pd.testing.assert_frame_equal(huff.decode_frame(huff.encode_frame(df)), df)
    with pytest.raises(ConfigError, match=r"^block_size must be <= 16777216, not 33554432; 64 KiB"):
        HuffmanCodec(block_size=1 << 25)
    with pytest.raises(ConfigError, match=r"^block_size must be an integer, not 65536.0"):
        HuffmanCodec(block_size=65536.0)


# -- reading zlib ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["text", "random", "repetitive", "far", "one_byte"])
@pytest.mark.parametrize(
    ("level", "strategy"),
    [
        (0, "default"),
        (1, "default"),
        (6, "default"),
        (9, "default"),
        (6, "filtered"),
        (6, "huffman_only"),
        (6, "rle"),
        (6, "fixed"),
        (9, "fixed"),
    ],
)
def test_reads_what_zlib_writes(kind, level, strategy):
    data = sample(kind, 100_000)
    assert HUFF.decode(raw_deflate(data, level, strategy)) == data


@BOUNDED
@given(
    data=st.lists(st.sampled_from(b"abc\n0123") | st.integers(0, 255), max_size=5000).map(bytes),
    level=st.integers(0, 9),
    strategy=st.sampled_from(sorted(STRATEGIES)),
)
def test_reads_zlib_at_every_level_and_strategy(data, level, strategy):
    assert HUFF.decode(raw_deflate(data, level, strategy)) == data


def test_reads_zlib_flushes_and_empty_stored_blocks():
    text = sample("text", 50_000)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = compressor.compress(text[:20_000]) + compressor.flush(zlib.Z_SYNC_FLUSH)
    stream += compressor.compress(text[20_000:]) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream += compressor.flush()
    assert HUFF.decode(stream) == text
    assert HUFF.decode(raw_deflate(b"")) == b""


# -- the code itself ---------------------------------------------------------------------------
def kraft_sum(lengths) -> float:
    return sum(2.0**-n for n in lengths if n)


def assert_prefix_free(codes: list[str]) -> None:
    ordered = sorted(codes)  # a prefix sorts right before the codes that start with it
    for a, b in itertools.pairwise(ordered):
        assert not b.startswith(a), (a, b)


@settings(max_examples=200, deadline=None)
@given(
    freqs=st.lists(st.integers(0, 10**9) | st.integers(0, 3), max_size=300),
    max_bits=st.sampled_from([7, 9, 15]),
)
@example(freqs=[int(1.618**k) + 1 for k in range(40)], max_bits=15)  # Fibonacci-like: deep tree
def test_code_lengths_are_limited_complete_and_canonical_codes_prefix_free(freqs, max_bits):
    if len(freqs) < 2 or np.count_nonzero(freqs) > 2**max_bits:
        return
    lengths = code_lengths(freqs, max_bits)
    used = np.flatnonzero(freqs)
    assert lengths.max() <= max_bits
    assert (lengths[used] > 0).all() and np.count_nonzero(lengths) == max(2, len(used))
    assert kraft_sum(lengths) == 1.0  # complete: as zlib's inflater requires
    codes = canonical_codes(lengths)
    assert_prefix_free([f"{c:0{n}b}" for c, n in zip(codes, lengths, strict=True) if n])


@settings(max_examples=100, deadline=None)
@given(freqs=st.lists(st.integers(1, 1000), min_size=2, max_size=60))
def test_unlimited_huffman_cost_matches_the_textbook_merge_sum(freqs):
    """Huffman's total cost is the sum of the weights of all merged nodes."""
    weights, merged = sorted(freqs), 0
    while len(weights) > 1:
        a, b = weights.pop(0), weights.pop(0)
        merged += a + b
        weights = sorted([*weights, a + b])
    assert int(np.dot(code_lengths(freqs, 60), freqs)) == merged


def test_long_codes_are_cut_to_15_bits():
    freqs = [1, 2]
    while len(freqs) < 25:  # Fibonacci counts make the deepest Huffman trees
        freqs.append(freqs[-1] + freqs[-2])
    assert code_lengths(freqs, 60).max() == 24
    lengths = code_lengths(freqs)
    assert lengths.max() == 15 and kraft_sum(lengths) == 1.0
    assert (np.diff(lengths) <= 0).all()  # a more frequent symbol never gets a longer code
    data = np.random.default_rng(1).permutation(np.repeat(np.arange(25, dtype=np.uint8), freqs))
    packed = round_trip(data.tobytes(), HuffmanCodec(block_size=1 << 20))
    assert len(packed) < 0.4 * len(data)  # Huffman coded, not stored


@pytest.mark.parametrize("p", [0.5, 0.3, 0.1])
def test_mean_code_length_is_within_one_bit_of_the_entropy(p):
    rng = np.random.default_rng(7)
    data = np.minimum(rng.geometric(p, 200_000) - 1, 255).astype(np.uint8).tobytes()
    table = HuffmanCodec.code_table(data)
    counts = np.bincount(np.frombuffer(data, np.uint8))
    q = counts[counts > 0] / len(data)
    entropy = float(-(q * np.log2(q)).sum())
    assert table.attrs["entropy"] == pytest.approx(entropy)
    assert entropy <= table.attrs["mean_length"] < entropy + 1
    packed = round_trip(data, HuffmanCodec(block_size=1 << 20))
    assert 8 * len(packed) < (table.attrs["mean_length"] * len(data)) + 2000  # + the header


def test_code_table_lists_each_symbol_with_its_code():
    table = HuffmanCodec.code_table(b"mississippi")
    assert list(table.columns) == ["symbol", "char", "count", "length", "code"]
    assert table.set_index("char")["count"].to_dict() == {"i": 4, "s": 4, "p": 2, "m": 1, "EOB": 1}
    assert (table["code"].str.len() == table["length"]).all()
    assert_prefix_free(table["code"].tolist())
    assert kraft_sum(table["length"]) == 1.0
    rows = table[table["char"] != "EOB"]
    mean = (rows["count"] * rows["length"]).sum() / 11
    assert math.isclose(table.attrs["mean_length"], mean)
    assert table.attrs["entropy"] <= mean < table.attrs["entropy"] + 1


@settings(max_examples=100, deadline=None)
@given(
    fields=st.lists(
        st.integers(0, 57).flatmap(lambda n: st.tuples(st.integers(0, 2**n - 1), st.just(n)))
    )
)
def test_pack_bits_matches_packing_one_bit_at_a_time(fields):
    packed, total = pack_bits([v for v, _ in fields], [n for _, n in fields])
    assert total == sum(n for _, n in fields) and packed == lsb_bytes(*fields)


# -- corrupt input -----------------------------------------------------------------------------
def dynamic_header(lit_lengths, dist_lengths) -> list:
    values, nbits = tree_header(np.asarray(lit_lengths), np.asarray(dist_lengths))
    return [(1, 1), (2, 2), *zip(values, nbits, strict=True)]


ONLY_EOB = dynamic_header([0] * 256 + [1], [1])  # a lone 1-bit code: "0" is end-of-block
DYNAMIC = [(1, 1), (2, 2), (0, 5), (0, 5), (0, 4)]  # final, BTYPE=2, HLIT=257, HDIST=1, HCLEN=4
ZEROS = [*DYNAMIC, (0, 3), (1, 3), (1, 3), (0, 3)]  # code-length codes: 17 is "0", 18 is "1"
BAD_STREAMS = {
    "block type 3": (lsb_bytes((1, 1), (3, 2)), "invalid block type 3 (reserved) at bit 1"),
    "stored NLEN": (lsb_bytes((1, 1), (0, 2), (0, 5), (5, 16), (0, 16)), "LEN=5 but NLEN=0"),
    "stored short": (lsb_bytes((1, 1), (0, 2), (0, 5), (5, 16), (0xFFFA, 16)) + b"ab", "truncated"),
    "HLIT 287": (lsb_bytes((1, 1), (2, 2), (30, 5), (0, 5), (0, 4)), "HLIT=287 > 286"),
    "one code-length code": (
        lsb_bytes(*DYNAMIC, (1, 3), (0, 9)),
        "bad code-length code lengths: some bit patterns start no code",
    ),
    "three 1-bit codes": (
        lsb_bytes(*DYNAMIC, (1, 3), (1, 3), (1, 3), (0, 3)),
        "bad code-length code lengths: more codes than bit patterns",
    ),
    "repeat first": (  # code-length codes 16 -> "0", 17 -> "1"; the first symbol is 16
        lsb_bytes(*DYNAMIC, (1, 3), (1, 3), (0, 6), "0", (0, 2)),
        "'repeat the previous' (16) comes first",
    ),
    "repeat too long": (  # 138 + 138 zeros, but 257 + 1 lengths
        lsb_bytes(*ZEROS, "1", (127, 7), "1", (127, 7)),
        "a repeat runs past HLIT + HDIST",
    ),
    "no end-of-block": (  # 138 + 120 zeros
        lsb_bytes(*ZEROS, "1", (127, 7), "1", (109, 7)),
        "no code for end-of-block",
    ),
    "unused bit pattern": (lsb_bytes(*ONLY_EOB, "1"), "invalid literal/length code at bit"),
    "length 286": (lsb_bytes((1, 1), (1, 2), fixed(286)), "invalid length symbol 286"),
    "distance 30": (
        lsb_bytes((1, 1), (1, 2), fixed(97), fixed(257), "11110"),
        "invalid distance symbol 30",
    ),
    "too far back": (
        lsb_bytes((1, 1), (1, 2), fixed(97), fixed(257), "00001", fixed(256)),
        "distance 2 too far back (output length 1) at bit 23",
    ),
    "no final block": (lsb_bytes((0, 1), (1, 2), fixed(256)), "truncated stream"),
    "trailing data": (HUFF.encode(b"abc") + b"\x00", "trailing data after the final block (1"),
}


@pytest.mark.parametrize(("stream", "message"), BAD_STREAMS.values(), ids=BAD_STREAMS)
def test_corrupt_streams_name_the_codec_and_the_fault(stream, message):
    with pytest.raises(CodecError, match=f"^huffman: .*{re.escape(message)}"):
        HUFF.decode(stream)
    decode_like_zlib(stream)  # zlib rejects it too


def test_hand_written_streams_are_right_apart_from_the_fault():
    """The corrupt streams above differ from valid ones only where they mean to."""
    assert zlib.decompress(lsb_bytes(*ONLY_EOB, "0"), -15) == b""
    good = lsb_bytes((1, 1), (1, 2), fixed(97), fixed(257), "00000", fixed(256))
    assert zlib.decompress(good, -15) == HUFF.decode(good) == b"aaaa"
    assert HUFF.decode(lsb_bytes((1, 1), (0, 2), (0, 5), (2, 16), (0xFFFD, 16)) + b"ab") == b"ab"


def test_references_into_a_preset_dictionary_are_too_far_back():
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=b"sensor-7,sensor-8,")
    stream = compressor.compress(b"1,sensor-7,sensor-8,2") + compressor.flush()
    with pytest.raises(
        CodecError, match=r"^huffman: distance \d+ too far back \(output length 1\)"
    ):
        HUFF.decode(stream)


@pytest.mark.parametrize("source", ["ours", "zlib-6", "zlib-0", "zlib-fixed"])
def test_every_truncation_is_reported_as_truncated(source):
    data = sample("text", 3000)
    stream = {
        "ours": HUFF.encode(data),
        "zlib-6": raw_deflate(data),
        "zlib-0": raw_deflate(data, 0),
        "zlib-fixed": raw_deflate(data, 6, "fixed"),
    }[source]
    for cut in range(len(stream)):
        with pytest.raises(CodecError, match=r"^huffman: truncated stream"):
            HUFF.decode(stream[:cut])


def decode_like_zlib(stream: bytes) -> None:
    """Corrupt input decodes to what zlib makes of it, or raises CodecError where zlib fails
    (an error, a stream that does not end, or data after its end) - and nothing else."""
    inflater = zlib.decompressobj(-15)
    try:
        expected = inflater.decompress(stream)
        if not inflater.eof or inflater.unused_data:
            expected = None
    except zlib.error:
        expected = None
    try:
        assert HUFF.decode(stream) == expected
    except CodecError as exc:
        assert str(exc).startswith("huffman: ") and expected is None, exc


@BOUNDED
@given(
    source=st.sampled_from(["ours", "zlib-6", "zlib-fixed"]),
    flips=st.lists(st.integers(0, 10**9), min_size=1, max_size=4),
)
def test_flipped_bits_give_what_zlib_gives_or_a_codec_error(source, flips):
    data = sample("text", 2000)
    stream = bytearray(
        {
            "ours": HUFF.encode(data),
            "zlib-6": raw_deflate(data),
            "zlib-fixed": raw_deflate(data, 6, "fixed"),
        }[source]
    )
    for flip in flips:
        stream[flip // 8 % len(stream)] ^= 1 << (flip % 8)
    decode_like_zlib(bytes(stream))


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=300))
@example(garbage=b"\x04\x00\xfe\xff")  # BFINAL=0, an empty stored block, then nothing
@example(garbage=b"\x05" + b"\xff" * 40)  # a dynamic header of all ones
def test_random_garbage_gives_what_zlib_gives_or_a_codec_error(garbage):
    decode_like_zlib(garbage)
