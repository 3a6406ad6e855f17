"""Compression as stream steps, and compressed frames over a real socket."""

from __future__ import annotations

import asyncio
import struct

import pandas as pd
import pytest
from streamz import Stream

import streamlab
from streamlab.compress import CodecError, codec, codecs

from support import wait_until


@pytest.mark.parametrize("name", ["zlib", "bz2", "lzma", "zstd", "lz4"])
def test_general_codecs_round_trip_bytes_and_frames(name):
    c = codec(name)
    for data in (b"", b"x", b"a" * 100_000, bytes(range(256)) * 50):
        assert c.decode(c.encode(data)) == data
    df = streamlab.generate("sine", rows=1000, keys=3).block(0)
    back = c.decode_frame(c.encode_frame(df))
    pd.testing.assert_frame_equal(back, df)


def test_unknown_codec_suggests_a_close_name_and_lists_what_is_installed():
    with pytest.raises(ValueError, match=r"codec='lzmaa' is not one of .*Did you mean 'lzma'\?"):
        codec("lzmaa")
    assert {"zlib", "bz2", "lzma", "zstd", "lz4"} <= set(codecs())


def test_a_corrupt_frame_goes_to_dead_letters_and_the_next_decodes():
    src = Stream()
    step = src.decompress("zstd")
    out, bad = step.sink_to_list(), step.errors.sink_to_list()
    good = codec("zstd").encode_frame(pd.DataFrame({"x": [1, 2]}))
    src.emit(good)
    src.emit(good[:-5])  # truncated
    src.emit(codec("zlib").encode_frame(pd.DataFrame({"x": [3]})))  # another codec's frame
    src.emit(b"garbage")
    src.emit(good)
    assert [df["x"].tolist() for df in out] == [[1, 2], [1, 2]]
    reasons = pd.concat(bad)["reason"].tolist()
    assert reasons[0].startswith("zstd: corrupt or truncated")
    assert (
        reasons[1] == "zstd: this frame was written by codec 'zlib'; decode it with codec('zlib')"
    )
    assert reasons[2].startswith("zstd: not a streamlab frame")
    assert step.stats.bad == 3


@pytest.mark.parametrize("name", ["zlib", "zstd", "timeseries", "huffman"])
def test_a_batch_the_codec_cannot_encode_is_a_dead_letter_and_the_stream_goes_on(name):
    """A column of mixed Python objects has no Arrow type: the batch goes whole to .errors
    with the codec's reason (it used to raise and end the stream)."""
    src = Stream()
    step = src.compress(name)
    out, bad = step.decompress(name).sink_to_list(), step.errors.sink_to_list()
    src.emit(pd.DataFrame({"x": [1.0, 2.0], "o": pd.Series([(1, "a"), "b"], dtype=object)}))
    src.emit(pd.DataFrame({"x": [3.0], "o": pd.Series(["c"], dtype=object)}))
    assert [df["x"].tolist() for df in out] == [[3.0]]
    (letter,) = bad
    assert letter["reason"].item().startswith(f"{name} cannot encode this batch: ")
    assert letter["origin"].item() == "batch 1" and letter["raw"].item().startswith(b"1.0,")
    assert step.stats.bad == 2 and step.stats.rows == 1


async def test_compressed_frames_over_tcp_with_a_corrupt_one_in_between():
    server = streamlab.listen_tcp(0, codec="zstd")
    got, bad = server.sink_to_list(), server.errors.sink_to_list()
    server.start()
    src = streamlab.generate("random_walk", rows=20_000, batch_rows=2000, keys=4)
    sent = src.to_tcp(*server.address, codec="zstd")
    await streamlab.arun(src)
    # a hand-made bad frame, then a good one, on a second connection
    _, w = await asyncio.open_connection(*server.address)
    junk = b"not a frame at all"
    w.write(struct.pack(">I", len(junk)) + junk)
    frame = codec("zstd").encode_frame(
        pd.DataFrame(
            {
                "time": [pd.Timestamp(0, tz="UTC")],
                "key": ["x"],
                "value": [1.0],
                "is_anomaly": [False],
                "drifted": [False],
            }
        )
    )
    w.write(struct.pack(">I", len(frame)) + frame)
    await w.drain()
    w.close()
    await wait_until(lambda: sum(map(len, got)) == 20_001 and len(bad) == 1, what="frames")
    server.stop()
    await server.wait()
    await sent.close()
    df = pd.concat(got[:-1], ignore_index=True)
    again = streamlab.generate("random_walk", rows=20_000, batch_rows=2000, keys=4)
    expected = again.sink_to_list()
    await streamlab.arun(again)  # the generator is seeded: the same rows again, to compare
    pd.testing.assert_frame_equal(df, pd.concat(expected, ignore_index=True))
    assert got[-1]["key"].tolist() == ["x"]  # the good frame after the bad one
    assert pd.concat(bad)["reason"].item().startswith("zstd: not a streamlab frame")
    assert sent.stats.rows == 20_000 and sent.stats.bytes < 20_000 * 30


def test_compare_reports_ratio_speed_and_exactness():
    src = streamlab.generate("sine", rows=20_000, batch_rows=10_000)
    table = src.compare(["zlib", "zstd", "lz4"]).sink_to_list()
    streamlab.run(src)
    last = table[-1].set_index("codec")
    assert list(last.index) == ["zlib", "zstd", "lz4"]
    assert (last["ratio"] > 1).all() and last["exact"].all() and (last["max_error"] == 0).all()
    assert (last["encode_mb_s"] > 0).all() and "time" in table[-1]
    with pytest.raises(CodecError):
        codec("zlib").decode_frame(b"SLF1\x04zlib" + b"\x00" * 10)


def every_dtype() -> pd.DataFrame:
    t = pd.date_range("2026-01-01", periods=6, freq="250ms", tz="UTC")
    return pd.DataFrame(
        {
            "time": t,
            "local": t.tz_convert("Asia/Tokyo"),
            "i": [1, -2, 3, 2**62, 0, 7],
            "n": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
            "x": [0.1, -0.0, float("nan"), float("inf"), 5e-324, 1e308],
            "s": pd.Series(["a", None, "ccc", "", "é", "z"], dtype="str"),
            "b": [True, False, True, True, False, False],
            "c": pd.Categorical(["u", "v", "u", "u", "w", "v"]),
        }
    )


@pytest.mark.parametrize(
    "name", ["zlib", "bz2", "lzma", "zstd", "lz4", "huffman", "lzw", "timeseries"]
)
def test_every_lossless_codec_keeps_every_dtype_of_a_batch_bit_for_bit(name):
    df = every_dtype()
    back = codec(name).decode_frame(codec(name).encode_frame(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert (back["x"].to_numpy().view("i8") == df["x"].to_numpy().view("i8")).all()
