"""Bounded decompression: each general-purpose decompressor stops at ``limit`` output bytes.

``inflate_*(data, limit, name)`` returns what ``data`` decompresses to, as the library's own
one-shot function would (same handling of concatenated streams and of trailing bytes), but
raises :class:`~streamlab.errors.CodecLimitError` as soon as the output would pass
``limit`` bytes. The decompressors are asked for output piece by piece, each piece at most
what is left of ``limit`` plus one byte (zlib, bz2, lzma, lz4, and zstd streams that do not
declare their size), or a size the frame declares is checked before it is allocated (zstd,
lz4), so memory stays near ``limit`` whatever the input claims. Output up to 64 MiB comes
in one piece, exactly as from the one-shot function (no extra copy on the common path).
Corrupt input raises the library's own error (``ByteCodec`` turns it into a ``CodecError``).

Examples
--------
>>> import zlib
>>> inflate_zlib(zlib.compress(b"abc" * 100), 300, "zlib") == b"abc" * 100
True
>>> inflate_zlib(zlib.compress(b"abc" * 100), 299, "zlib")
Traceback (most recent call last):
...
streamlab.errors.CodecLimitError: zlib: decodes to more than max_decoded=299 bytes (299 B); ...
"""

from __future__ import annotations

import bz2
import lzma
import zlib

from .base import CodecLimitError, over_limit

__all__ = ["inflate_bz2", "inflate_lz4", "inflate_lzma", "inflate_zlib", "inflate_zstd"]

_FIRST = 64 << 20  # output up to this size comes in one piece, as from the one-shot function
_STEP = 16 << 20  # then in pieces of this size, appended to one growing buffer


def _collect(pull, ended, limit: int, name: str) -> bytes:
    """The output of ``pull(n)`` (at most ``n`` more bytes; ``b""`` when nothing more comes)
    until ``ended()``; ``CodecLimitError`` as soon as it passes ``limit`` bytes."""
    out = pull(min(limit + 1, _FIRST))
    if len(out) <= limit and not ended() and out:
        buf = bytearray(out)
        del out
        while not ended() and len(buf) <= limit:
            piece = pull(min(limit + 1 - len(buf), _STEP))
            if not piece:
                break  # the input ended first: the caller finds the stream unfinished
            buf += piece
        out = buf
    if len(out) > limit:
        raise over_limit(name, limit)
    return out if isinstance(out, bytes) else bytes(out)


def inflate_zlib(data: bytes, limit: int, name: str, wbits: int = zlib.MAX_WBITS) -> bytes:
    """``zlib.decompress(data, wbits)``, bounded (bytes after the end of the stream are
    ignored, as zlib.decompress does)."""
    d = zlib.decompressobj(wbits)
    tail = data

    def pull(n: int) -> bytes:
        nonlocal tail
        piece = d.decompress(tail, n)
        tail = d.unconsumed_tail
        return piece

    out = _collect(pull, lambda: d.eof, limit, name)
    if not d.eof:
        raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
    return out


def _one_stream(d, data: bytes, limit: int, name: str) -> bytes:
    """One stream of a decompressor with ``decompress(data, max_length)``, ``eof`` and
    ``needs_input`` (bz2, lzma, lz4 frames): the input is given once, then ``b""``."""
    pending = [data]

    def pull(n: int) -> bytes:
        return d.decompress(pending.pop() if pending else b"", max_length=n)

    return _collect(pull, lambda: d.eof, limit, name)


def _streams(data: bytes, limit: int, name: str, new, error, ended) -> bytes:
    """Concatenated bz2 or xz/lzma streams, as ``bz2.decompress`` and ``lzma.decompress`` read
    them: one after another; bytes after a stream that do not start a new one are ignored."""
    parts: list[bytes] = []
    total = 0
    while True:
        d = new()
        try:
            part = _one_stream(d, data, limit - total, name)
        except CodecLimitError:
            raise over_limit(name, limit) from None  # the whole data's limit, not what was left
        except error:
            if parts:
                break  # trailing bytes that are not a stream
            raise
        if not d.eof:
            raise ended("Compressed data ended before the end-of-stream marker was reached")
        total += len(part)
        parts.append(part)
        data = d.unused_data
        if not data:
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def inflate_bz2(data: bytes, limit: int, name: str) -> bytes:
    """``bz2.decompress(data)``, bounded."""
    return _streams(data, limit, name, bz2.BZ2Decompressor, OSError, EOFError)


#: the most memory liblzma may take for its dictionary, whatever the stream asks (xz presets
#: need at most 65 MiB to decompress; a stream asking more is refused, not obeyed)
LZMA_MEMLIMIT = 128 << 20


def inflate_lzma(data: bytes, limit: int, name: str) -> bytes:
    """``lzma.decompress(data)``, bounded; the decoder's own memory is capped too."""
    memlimit = max(LZMA_MEMLIMIT, limit)
    try:
        return _streams(
            data,
            limit,
            name,
            lambda: lzma.LZMADecompressor(memlimit=memlimit),
            lzma.LZMAError,
            lzma.LZMAError,
        )
    except lzma.LZMAError as exc:
        if "Memory usage limit" in str(exc):
            raise over_limit(f"{name} (decoder dictionary)", memlimit) from exc
        raise


def inflate_zstd(data: bytes, limit: int, name: str, dctx=None) -> bytes:
    """``ZstdDecompressor().decompress(data)`` (the first frame), bounded. A frame that
    declares its size (``ZstdCompressor.compress`` always does) is checked before its
    output is allocated; one that does not (streaming compression) is decompressed a few
    bytes of input at a time, so the output cannot run far past ``limit``."""
    import zstandard

    dctx = dctx or zstandard.ZstdDecompressor()
    try:
        size = zstandard.frame_content_size(data)
    except zstandard.ZstdError:
        size = None  # not a frame: the decompressor says why
    if size is None or size >= 0:
        if size is not None and size > limit:
            raise over_limit(name, limit, size)
        return dctx.decompress(data, max_output_size=limit)
    d = dctx.decompressobj()
    view, pos, buf = memoryview(data), 0, bytearray()
    while not d.eof and pos < len(view) and len(buf) <= limit:
        # a zstd block yields at most ~32 KiB per input byte (a 4-byte RLE block: 128 KiB):
        # feed few enough bytes that one step cannot give more than half of what is left
        # (at least 16 bytes: at most 512 KiB past the limit)
        step = max(16, (limit - len(buf)) // 65_536)
        buf += d.decompress(view[pos : pos + step])
        pos += step
    if len(buf) > limit:
        raise over_limit(name, limit)
    if not d.eof:
        raise zstandard.ZstdError("decompression error: did not decompress full frame")
    return bytes(buf)


def inflate_lz4(data: bytes, limit: int, name: str) -> bytes:
    """``lz4.frame.decompress(data)`` (the first frame), bounded. A size the frame declares is
    checked first and then holds the output (a frame longer than it says is corrupt)."""
    import lz4.frame

    try:
        declared = lz4.frame.get_frame_info(data)["content_size"]  # 0: not declared
    except (RuntimeError, ValueError):
        declared = 0  # not a frame: the decompressor says why
    if declared > limit:
        raise over_limit(name, limit, declared)
    d = lz4.frame.LZ4FrameDecompressor()
    try:
        out = _one_stream(d, data, declared or limit, name)
    except CodecLimitError as exc:
        if declared:
            raise RuntimeError(
                f"the frame holds more than the {declared} bytes it declares"
            ) from exc
        raise
    if not d.eof:
        raise RuntimeError("Frame incomplete: the input ends inside the frame")
    return out
