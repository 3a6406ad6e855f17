"""Hostile input is bounded: every decoder stops at ``max_decoded`` while it decodes.

Bombs are real: zeros through each library's own streaming compressor (zlib, raw DEFLATE for
the Huffman inflater, bz2, xz, zstd, lz4 frames), the Unix ``compress`` tool for LZW, and
hand-made Arrow IPC and time-series frames whose headers claim more than they hold. Memory is
measured, not assumed: ``tracemalloc`` (Python's and numpy's allocations) around each decode,
and for the whole receiver ``ru_maxrss`` of a subprocess that takes a 1 GiB bomb over a real
loopback socket.
"""

from __future__ import annotations

import asyncio
import bz2
import html
import io
import json
import lzma
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib

import lz4.frame
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import zstandard
from streamz import Stream

import streamlab
from streamlab.compress import MAX_DECODED, CodecError, CodecLimitError, codec
from streamlab.compress.base import frame_to_bytes
from streamlab.compress.entropy import Entropy
from streamlab.compress.huffman import inflate
from streamlab.compress.ipc import declared_bytes
from streamlab.errors import ConfigError
from streamlab.viz import Dashboard, counters, histogram, line, table

from support import LineServer, wait_until

MIB = 1 << 20
ZERO = bytes(MIB)
BYTE_CODECS = ["zlib", "bz2", "lzma", "zstd", "lz4", "huffman", "lzw", "timeseries"]


def text(n: int, seed: int = 1) -> bytes:
    """``n`` bytes of compressible, not trivial, text."""
    rng = np.random.default_rng(seed)
    words = np.array([b"sensor", b"12.5", b"-0.25", b"ok", b"\n", b",", b"2026-01-01T00:00:00Z"])
    return b"".join(rng.choice(words, n))[:n]


def zeros(kind: str, mib: int, *, declare: bool = False) -> bytes:
    """``mib`` MiB of zeros compressed in 1 MiB steps by the library's own streaming
    compressor (the test never holds the inflated bytes)."""
    if kind == "lzw":
        done = subprocess.run(
            ["compress", "-c"], input=bytes(mib * MIB), capture_output=True, check=True
        )
        return done.stdout
    if kind == "lz4":
        c = lz4.frame.LZ4FrameCompressor()
        head = c.begin(source_size=mib * MIB if declare else 0)
        return head + b"".join(c.compress(ZERO) for _ in range(mib)) + c.flush()
    c = {
        "zlib": lambda: zlib.compressobj(9),
        "huffman": lambda: zlib.compressobj(9, zlib.DEFLATED, -15),  # raw DEFLATE
        "bz2": lambda: bz2.BZ2Compressor(9),
        "lzma": lambda: lzma.LZMACompressor(preset=1),
        "zstd": lambda: zstandard.ZstdCompressor().compressobj(size=mib * MIB if declare else -1),
        "timeseries": lambda: zstandard.ZstdCompressor().compressobj(),
    }[kind]()
    body = b"".join(c.compress(ZERO) for _ in range(mib)) + c.flush()
    if kind == "timeseries":  # its byte format: entropy id, CRC-32 of the data, the stream
        return bytes([Entropy("zstd").id]) + b"\0\0\0\0" + b"\x01" + body
    return body


def traced_peak(f):
    """(f's result or exception, the peak of traced allocations while it ran)."""
    tracemalloc.start()
    try:
        try:
            out = f()
        except Exception as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_limit_message(err: Exception, name: str, limit: int) -> None:
    msg = str(err)
    assert isinstance(err, CodecLimitError), repr(err)
    assert msg.startswith(f"{name}: "), msg
    assert f"max_decoded={limit} " in msg, msg
    assert "pass a larger max_decoded=" in msg and "decompress()" in msg, msg


# -- byte codecs -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", BYTE_CODECS)
def test_each_codec_decodes_up_to_max_decoded_and_not_a_byte_more(name):
    c = codec(name)
    data = text(50_000)
    blob = c.encode(data)
    assert c.decode(blob, max_decoded=len(data)) == data  # just under: exactly the size
    assert c.decode(blob) == data  # the default
    with pytest.raises(CodecLimitError) as err:
        c.decode(blob, max_decoded=len(data) - 1)  # just over
    assert_limit_message(err.value, c.name, len(data) - 1)


@pytest.mark.parametrize("name", BYTE_CODECS)
def test_a_bomb_is_refused_while_it_decodes_and_memory_stays_near_the_limit(name):
    bomb = zeros(name, 64)  # 64 MiB of zeros, a few KiB to 64 KiB on the wire
    assert len(bomb) < 2 * MIB
    limit = 1 * MIB
    c = codec(name)
    err, peak = traced_peak(lambda: c.decode(bomb, max_decoded=limit))
    assert_limit_message(err, c.name, limit)
    # The inflated 64 MiB never existed: at most twice the limit (a library's output buffer,
    # then the bytes made of it), the decoder's own state (lzma's dictionary: 1 MiB at
    # preset 1) and copies of the input.
    assert peak < 4 * limit + 2 * len(bomb), f"{name}: peak {peak:,} bytes"


@pytest.mark.parametrize("name", ["zstd", "lz4"])
def test_a_declared_size_over_the_limit_is_refused_before_anything_is_allocated(name):
    bomb = zeros(name, 64, declare=True)
    err, peak = traced_peak(lambda: codec(name).decode(bomb, max_decoded=MIB))
    assert_limit_message(err, name, MIB)
    assert f"declares {64 * MIB} decoded bytes" in str(err)
    assert peak < MIB // 4 + 2 * len(bomb)


def lz4_declaring(frame: bytes, size: int) -> bytes:
    """An lz4 frame whose header declares ``size`` bytes (lz4 itself will not write a frame
    that lies): the 8-byte content size after FLG and BD, then a header checksum byte that
    lz4 accepts (found by trying all 256)."""
    out = bytearray(frame)
    out[6:14] = struct.pack("<Q", size)
    for hc in range(256):
        out[14] = hc
        try:
            if lz4.frame.get_frame_info(bytes(out))["content_size"] == size:
                return bytes(out)
        except RuntimeError:
            continue
    raise AssertionError("no header checksum fits")


def test_an_lz4_frame_holding_more_than_it_declares_is_corrupt():
    honest = lz4.frame.compress(b"a" * 1000)
    lying = lz4_declaring(honest, 10)
    assert codec("lz4").decode(honest) == b"a" * 1000
    with pytest.raises(CodecError, match="holds more than the 10 bytes it declares"):
        codec("lz4").decode(lying)


def test_concatenated_streams_count_together():
    two = bz2.compress(b"x" * 600) + bz2.compress(b"y" * 600)
    assert codec("bz2").decode(two, max_decoded=1200) == b"x" * 600 + b"y" * 600
    with pytest.raises(CodecLimitError) as err:
        codec("bz2").decode(two, max_decoded=1199)
    assert_limit_message(err.value, "bz2", 1199)  # the whole limit, not what the 2nd had left
    xz = lzma.compress(b"x" * 600) + lzma.compress(b"y" * 600)
    assert codec("lzma").decode(xz, max_decoded=1200) == bz2.decompress(two)
    with pytest.raises(CodecLimitError):
        codec("lzma").decode(xz, max_decoded=1199)


def test_behaviour_below_the_limit_is_the_libraries_own():
    z = zlib.compress(b"abc" * 100)
    assert codec("zlib").decode(z + b"trailing") == zlib.decompress(z + b"trailing")
    with pytest.raises(CodecError, match=r"zlib: corrupt or truncated input \(Error -5"):
        codec("zlib").decode(z[:-6])
    s = zstandard.ZstdCompressor().compressobj()
    streamed = s.compress(b"abc" * 100) + s.flush()  # no content size in the header
    assert codec("zstd").decode(streamed) == b"abc" * 100
    with pytest.raises(CodecError, match="zstd: corrupt or truncated input"):
        codec("zstd").decode(streamed[:-4])
    with pytest.raises(CodecError, match="lz4: corrupt or truncated input"):
        codec("lz4").decode(lz4.frame.compress(b"abc" * 100)[:-4])
    with pytest.raises(CodecError, match="bz2: corrupt or truncated input"):
        codec("bz2").decode(bz2.compress(b"abc" * 100)[:-4])


def test_the_huffman_inflater_stops_at_the_limit_on_a_zlib_made_stream():
    raw = zeros("huffman", 8)
    assert inflate(raw, max_decoded=8 * MIB) == bytes(8 * MIB)
    with pytest.raises(CodecLimitError, match="huffman: decodes to more than max_decoded=8388607"):
        inflate(raw, max_decoded=8 * MIB - 1)


# -- frames ----------------------------------------------------------------------------------
def batch(n: int = 2000) -> pd.DataFrame:
    t = pd.date_range("2026-01-01", periods=n, freq="1s", tz="UTC")
    return pd.DataFrame({"time": t, "value": np.round(np.sin(np.arange(n) / 50), 3)})


@pytest.mark.parametrize("name", ["zlib", "bz2", "lzma", "zstd", "lz4", "huffman", "lzw"])
def test_byte_codec_frames_decode_up_to_max_decoded(name):
    df = batch()
    ipc = frame_to_bytes(df)
    need = max(len(ipc), declared_bytes(ipc))  # the inflated IPC bytes; 8 bytes a value
    assert declared_bytes(ipc) == 8 * df.size
    c = codec(name)
    frame = c.encode_frame(df)
    pd.testing.assert_frame_equal(c.decode_frame(frame, max_decoded=need), df)
    with pytest.raises(CodecLimitError) as err:
        c.decode_frame(frame, max_decoded=need - 1)
    assert_limit_message(err.value, c.name, need - 1)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("timeseries", {}),
        ("quantize", {"max_error": 0.01}),
        ("deadband", {"deadband": 0.01}),
        ("swinging_door", {"deviation": 0.01}),
    ],
)
def test_column_codec_frames_check_rows_times_columns_before_decoding(name, params):
    df = batch()
    c = codec(name, **params)
    frame = c.encode_frame(df)
    need = 8 * df.size  # every column as the frame declares it: n values of 8 bytes
    out = c.decode_frame(frame, max_decoded=need)
    assert out.shape == df.shape
    with pytest.raises(CodecLimitError) as err:
        c.decode_frame(frame, max_decoded=need - 1)
    assert_limit_message(err.value, name, need - 1)
    assert f"declares {need} decoded bytes" in str(err.value)


def retimeseries(frame: bytes, **meta_changes) -> bytes:
    """A time-series frame with its meta changed (CRC made right again): a lying header."""
    from streamlab.compress.timeseries import _HEAD

    head = frame[: 5 + frame[4]]
    payload = frame[len(head) :]
    _, version, eid, size = _HEAD.unpack_from(payload)
    ent = Entropy.from_id(eid)
    meta = json.loads(ent.decompress(payload[_HEAD.size : _HEAD.size + size], 1 << 20))
    meta.update(meta_changes)
    m = ent.compress(json.dumps(meta).encode())
    rest = struct.pack(">BBI", version, eid, len(m)) + m + payload[_HEAD.size + size :]
    return head + struct.pack(">I", zlib.crc32(rest)) + rest


def test_a_time_series_frame_claiming_2_to_the_40_rows_is_refused_before_allocating():
    frame = codec("timeseries").encode_frame(batch(100))
    lying = retimeseries(frame, n=1 << 40)
    err, peak = traced_peak(lambda: codec("timeseries").decode_frame(lying))
    assert_limit_message(err, "timeseries", MAX_DECODED)
    assert f"declares {8 * 2 * (1 << 40)} decoded bytes" in str(err)
    assert peak < MIB


@pytest.mark.parametrize("n", [-1, 2.5, "many", None])
def test_a_time_series_frame_with_a_nonsense_row_count_is_corrupt(n):
    lying = retimeseries(codec("timeseries").encode_frame(batch(100)), n=n)
    with pytest.raises(CodecError, match=f"timeseries: corrupt or truncated frame .*{n!r}"):
        codec("timeseries").decode_frame(lying)


def ipc_bytes(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    opts = pa.ipc.IpcWriteOptions(**options)
    with pa.ipc.new_stream(sink, table.schema, options=opts) as w:
        w.write_table(table)
    return sink.getvalue()


def frame_of(name: str, ipc: bytes) -> bytes:
    head = b"SLF1" + bytes([len(name)]) + name.encode()
    return head + codec(name).encode(ipc)


@pytest.mark.parametrize("legacy", [False, True])  # legacy: before Arrow 0.15, no marker
def test_an_arrow_frame_of_2_to_the_27_null_rows_is_refused_before_reading(legacy):
    n = 1 << 27  # (2**31 - 1 rows would be 16 GiB; this is enough to show it, and safe)
    nulls = pa.table({"n": pa.Array.from_buffers(pa.null(), n, [None])})
    frame = frame_of("zlib", ipc_bytes(nulls, use_legacy_format=legacy))
    assert len(frame) < 300  # and 1 GiB once in pandas
    err, peak = traced_peak(lambda: codec("zlib").decode_frame(frame))
    assert_limit_message(err, "zlib", MAX_DECODED)
    assert f"declares {8 * n} decoded bytes" in str(err)
    assert peak < MIB


def test_buffers_compressed_inside_the_arrow_stream_count_at_their_inflated_size():
    table = pa.table({"x": np.zeros(8 * MIB // 8, dtype=np.int64)})  # 8 MiB of zeros
    ipc = ipc_bytes(table, compression="zstd")
    assert len(ipc) < 64 * 1024
    assert declared_bytes(ipc) == 8 * MIB + 8 * MIB  # its rows, and its inflated buffer
    frame = frame_of("zstd", ipc)
    assert codec("zstd").decode_frame(frame, max_decoded=16 * MIB)["x"].sum() == 0
    with pytest.raises(CodecLimitError, match="zstd: declares 16777216 decoded bytes"):
        codec("zstd").decode_frame(frame, max_decoded=16 * MIB - 1)


def test_the_ipc_walk_sees_the_messages_arrow_reads():
    from streamlab.compress.ipc import _messages

    df = batch(3000).assign(
        s=pd.Categorical(["a", "b", "c"] * 1000), n=pd.array([1, None, 3] * 1000, "Int64")
    )
    table = pa.Table.from_pandas(df, preserve_index=False)
    kinds = {"schema": 1, "dictionary": 2, "record batch": 3}
    for options in ({}, {"compression": "lz4"}, {"use_legacy_format": True}):
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as w:
            w.write_table(table, max_chunksize=1000)  # three record batches
        data = sink.getvalue()
        arrow = [
            (kinds[m.type], m.body.size if m.body is not None else 0)
            for m in pa.ipc.MessageReader.open_stream(pa.py_buffer(data))
        ]
        ours = [(kind, len(body)) for kind, _, body in _messages(data)]
        assert ours == arrow and [k for k, _ in ours] == [1, 2, 3, 3, 3], options
        rows = 8 * (3 * 1000 * 4 + 3)  # 8 bytes a value: 3 x 1000 rows x 4 columns, 3 categories
        inflated = table.nbytes if "compression" in options else 0  # buffers Arrow inflates
        assert abs(declared_bytes(data) - rows - inflated) < 1024, options  # (but for padding)


def test_truncated_or_garbled_ipc_is_corrupt_not_a_crash():
    frame = codec("zlib").encode_frame(batch(100))
    ipc = codec("zlib").decode(frame[9:])
    for bad in (ipc[:-9], ipc[:100], b"\xff\xff\xff\xff\x10\x00\x00\x00" + bytes(16), ipc[:8]):
        with pytest.raises(CodecError, match="zlib: corrupt or truncated frame"):
            codec("zlib").decode_frame(frame_of("zlib", bad))


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        (pa.array(["a" * 100] * 10, pa.string_view()), "string_view"),
        (pa.array([[b"x" * 100]] * 10, pa.list_(pa.binary_view())), "binary_view"),
        (pa.array(["a", "b"] * 5, pa.string_view()).dictionary_encode(), "string_view"),
        (pa.array([{"v": [1]}] * 10, pa.struct([("v", pa.list_view(pa.int8()))])), "list_view"),
    ],
)
def test_view_types_whose_size_is_not_declared_are_refused(column, kind):
    frame = frame_of("zlib", ipc_bytes(pa.table({"c": column})))
    with pytest.raises(CodecError, match=f"zlib: the frame holds a {kind} column"):
        codec("zlib").decode_frame(frame)


# -- parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda v: codec("zlib").decode(zlib.compress(b"x"), max_decoded=v),
        lambda v: codec("timeseries").decode_frame(b"SLF1", max_decoded=v),
        lambda v: Stream().decompress("zlib", max_decoded=v),
        lambda v: streamlab.listen_tcp(0, codec="zstd", max_decoded=v),
        lambda v: streamlab.from_tcp("127.0.0.1", 9, codec="zstd", max_decoded=v),
        lambda v: inflate(b"", max_decoded=v),
    ],
)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "max_decoded must be >= 1, not 0; give bytes, e.g. max_decoded=1 << 30 for 1 GiB"),
        ("1GB", "max_decoded must be an integer, not '1GB'; give bytes, e.g. max_decoded="),
        (1.5e9, "max_decoded must be an integer, not 1500000000.0; give bytes"),
        (True, "max_decoded must be an integer, not True"),
    ],
)
def test_max_decoded_is_checked_like_every_parameter(call, value, message):
    with pytest.raises(ConfigError) as err:
        call(value)
    assert str(err.value).startswith(message), str(err.value)


def test_numpy_integers_are_limits_too():
    assert codec("zlib").decode(zlib.compress(b"xy"), max_decoded=np.int64(2)) == b"xy"


# -- streams ---------------------------------------------------------------------------------
def test_the_decompress_step_makes_a_bomb_a_dead_letter_and_decodes_the_next_frame():
    src = Stream()
    step = src.decompress("zstd", max_decoded=4 * MIB)
    out, bad = step.sink_to_list(), step.errors.sink_to_list()
    good = codec("zstd").encode_frame(pd.DataFrame({"x": [1, 2]}))
    bomb = b"SLF1\x04zstd" + zeros("zstd", 256)  # 256 MiB of zeros, ~8 KiB
    src.emit(good)
    err, peak = traced_peak(lambda: src.emit(bomb))
    assert err is None and peak < 16 * MIB
    src.emit(good)
    assert [df["x"].tolist() for df in out] == [[1, 2], [1, 2]]
    letters = pd.concat(bad)
    assert (
        letters["reason"]
        .item()
        .startswith(f"zstd: decodes to more than max_decoded={4 * MIB} bytes (4 MiB); refused")
    )
    assert letters["raw"].item() == bomb and step.stats.bad == 1


def test_auto_decompress_passes_the_limit_to_the_codec_the_frame_names():
    src = Stream()
    step = src.decompress("auto", max_decoded=MIB)
    out, bad = step.sink_to_list(), step.errors.sink_to_list()
    src.emit(b"SLF1\x04zlib" + zeros("zlib", 64))
    src.emit(codec("lz4").encode_frame(pd.DataFrame({"x": [3]})))
    assert out[0]["x"].tolist() == [3]
    assert pd.concat(bad)["reason"].item().startswith("zlib: decodes to more than max_decoded=")


async def test_a_bomb_over_tcp_is_a_dead_letter_and_the_connection_goes_on():
    server = streamlab.listen_tcp(0, codec="zlib", max_decoded=2 * MIB)
    got, bad = server.sink_to_list(), server.errors.sink_to_list()
    server.start()
    good = codec("zlib").encode_frame(pd.DataFrame({"x": [1.0, 2.0]}))
    bomb = b"SLF1\x04zlib" + zeros("zlib", 64)
    _, w = await asyncio.open_connection(*server.address)
    for frame in (good, bomb, good):
        w.write(struct.pack(">I", len(frame)) + frame)
    await w.drain()
    await wait_until(lambda: len(got) == 2 and len(bad) == 1, what="two batches, one letter")
    w.close()
    server.stop()
    await server.wait()
    assert server.stats.disconnects <= 1 and server.stats.bad == 1
    letter = pd.concat(bad)
    assert letter["reason"].item().startswith("zlib: decodes to more than max_decoded=2097152")
    assert letter["origin"].item().startswith("peer 127.0.0.1:")
    assert [df["x"].tolist() for df in got] == [[1.0, 2.0], [1.0, 2.0]]


async def test_from_tcp_makes_a_bomb_a_dead_letter_too():
    good = codec("lzma").encode_frame(pd.DataFrame({"x": [7]}))
    bomb = b"SLF1\x04lzma" + zeros("lzma", 64)
    server = await LineServer([[struct.pack(">I", len(f)) + f for f in (good, bomb, good)]]).start()
    src = streamlab.from_tcp(
        "127.0.0.1", server.port, codec="lzma", max_decoded=MIB, reconnect=False
    )
    got, bad = src.sink_to_list(), src.errors.sink_to_list()
    await streamlab.arun(src)
    await server.stop()
    assert [df["x"].tolist() for df in got] == [[7], [7]]
    assert pd.concat(bad)["reason"].item().startswith("lzma: decodes to more than max_decoded=")


# -- the whole receiver, in its own process --------------------------------------------------
RECEIVER = textwrap.dedent(
    """
    import asyncio, json, resource, struct, sys, zlib
    import pandas as pd
    import streamlab
    from streamlab.compress import codec
    from streamlab.core.clock import wait_until

    kind, options = sys.argv[1], json.loads(sys.argv[2])
    GIB = 1 << 30

    def bomb():  # 1 GiB of zeros, compressed 1 MiB at a time: ~1 MB (zlib), ~32 KB (zstd)
        zero = bytes(1 << 20)
        if kind == "zlib":
            c = zlib.compressobj(9)
        else:
            import zstandard
            c = zstandard.ZstdCompressor().compressobj()
        body = b"".join(c.compress(zero) for _ in range(GIB >> 20)) + c.flush()
        return b"SLF1" + bytes([len(kind)]) + kind.encode() + body

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    async def main():
        big = bomb()
        good = codec(kind).encode_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
        server = streamlab.listen_tcp(0, codec=kind, **options)
        got, bad = server.sink_to_list(), server.errors.sink_to_list()
        server.start()
        _, w = await asyncio.open_connection(*server.address)
        w.write(struct.pack(">I", len(good)) + good)  # warm up: the first frame decodes
        await w.drain()
        await wait_until(lambda: got, timeout=120, what="the warm-up frame")
        before = peak()
        w.write(struct.pack(">I", len(big)) + big + struct.pack(">I", len(good)) + good)
        await w.drain()
        await wait_until(
            lambda: len(got) == 2 or server.stats.disconnects, timeout=120, what="the bomb's end"
        )
        after = peak()
        w.close()
        server.stop()
        await server.wait()
        print(json.dumps({
            "bomb_bytes": len(big), "growth": after - before, "batches": len(got),
            "reasons": pd.concat(bad)["reason"].tolist() if bad else [],
        }))

    asyncio.run(main())
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "options", "bound"),
    [
        ("zlib", {}, 512 * MIB),  # the default limit, 256 MiB: growth near it
        ("zstd", {}, 512 * MIB),
        ("zlib", {"max_decoded": 16 * MIB}, 96 * MIB),
    ],
)
def test_a_1_gib_bomb_on_a_real_socket_leaves_the_receiver_near_its_limit(
    kind, options, bound, tmp_path
):
    done = subprocess.run(
        [sys.executable, "-c", RECEIVER, kind, json.dumps(options)],
        cwd=tmp_path,  # streamlab as installed (or on PYTHONPATH), not whatever is in the cwd
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    limit = options.get("max_decoded", MAX_DECODED)
    assert r["bomb_bytes"] < 2 * MIB  # a small frame on the wire ...
    assert len(r["reasons"]) == 1 and r["reasons"][0].startswith(
        f"{kind}: decodes to more than max_decoded={limit} bytes"
    )
    assert r["batches"] == 2  # the good frame after the bomb decoded, on the same connection
    assert r["growth"] < bound, f"receiver grew {r['growth']:,} bytes for a 1 GiB bomb"


# -- HTML: what the stream names reaches the page as text ------------------------------------
IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"
KEY_IMG = '<img src=x onerror="window.__pwned=3">'


def hostile_batch() -> pd.DataFrame:
    t = pd.date_range("2026-01-01", periods=4, freq="1s", tz="UTC")
    return pd.DataFrame(
        {"time": t, "key": [KEY_IMG, SCRIPT] * 2, IMG: [1.0, 2.0, 3.0, 4.0], SCRIPT: [4.0] * 4}
    )


def test_table_titles_are_escaped_and_what_bokeh_draws_as_text_is_not():
    from bokeh.models import StringFormatter

    df = hostile_batch()
    plots = t, lines, hist = table(), line(IMG, by="key"), histogram(SCRIPT)
    for p in plots:
        p.push(df)
        p.flush()
    for model in (t.model, t.snapshot()):  # the live table and a saved report's copy
        # SlickGrid writes header titles as HTML: escaped once, shown as the name
        assert [c.title for c in model.columns] == [html.escape(c) for c in df.columns]
        assert [c.field for c in model.columns] == list(df.columns)
        # cells go through bokeh's StringFormatter, which sets text: kept as they are
        assert all(isinstance(c.formatter, StringFormatter) for c in model.columns)
    assert t.source.data["key"] == [SCRIPT, KEY_IMG, SCRIPT, KEY_IMG]  # newest first
    # titles and legends are drawn on the canvas as text: escaping would show "&lt;"
    for fig in (lines.model, lines.snapshot()):
        assert fig.title.text == f"{IMG} by key"
        labels = [item.label["value"] for item in fig.legend[0].items]
        assert labels == [f"{IMG} [{KEY_IMG}]", f"{IMG} [{SCRIPT}]"]
    assert hist.model.title.text == f"{SCRIPT}: last 10,000 values"


def test_the_counters_table_escapes_its_titles():
    src = streamlab.generate("sine", rows=10)
    c = counters(src)
    c.flush()
    assert [col.title for col in c.model.columns] == ["counter", "value"]
    assert [col.title for col in c.snapshot().columns] == ["counter", "value"]


class _Stated(Dashboard):
    """A dashboard whose state is whatever the test says (the real one comes from sources)."""

    shown_state = "running"

    def _state(self) -> str:
        return self.shown_state


def test_the_status_line_and_the_dead_letters_are_text():
    from html.parser import HTMLParser

    src = Stream()
    step = src.decompress("zlib")
    dash = _Stated(step, [table()], title=IMG, live=False, controls=False)
    dash.shown_state = SCRIPT
    src.emit(codec("zlib").encode_frame(hostile_batch()))
    src.emit(KEY_IMG.encode())  # not a frame: a dead letter whose raw bytes are markup
    dash.refresh()

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    status = Tags()
    status.feed(dash.status_line.value)
    assert status.tags == ["span", "b"]  # ours; the state is text
    assert "".join(status.text).startswith(f"{SCRIPT} · rows 0 · ")
    dead = Tags()
    dead.feed(dash.dead_view.value)
    assert set(dead.tags) == {"details", "summary", "table", "tr", "th", "td", "code"}
    assert KEY_IMG in "".join(dead.text) and "not a streamlab frame" in "".join(dead.text)
    dash.close()


def test_a_table_shown_before_its_first_batch_gets_its_escaped_columns_then():
    t = table()
    model = t.model  # what a notebook shows when the dashboard is displayed before data
    assert model.columns == []
    df = hostile_batch()
    t.push(df)
    t.flush()
    assert [c.title for c in model.columns] == [html.escape(c) for c in df.columns]
    assert list(t.source.data) == list(df.columns)
