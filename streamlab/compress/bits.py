"""Bit packing for the column codecs: block frame-of-reference packing of integers, the
Gorilla-style XOR packing of float bits, and bitmaps. Plain numpy; no per-value Python loops.

Integers are packed in blocks of 1024 values. Each block stores its minimum (frame of
reference, 8 bytes) and the bit width of ``max - min`` (1 byte); its values then take exactly
that many bits each, so a block of equal values (a run of zero deltas) costs nothing but its
header. Packing works on rows of 64 values: 64 values of width ``w`` fill exactly ``w``
64-bit words, so one loop over the 64 lanes packs every row of that width at once.

The transforms that make integers small before packing (delta, zigzag, scaled decimals) are
in :mod:`.transforms`; the entropy stage after it in :mod:`.entropy`.

Examples
--------
>>> import numpy as np
>>> u = np.array([7, 7, 7, 8, 9], dtype=np.uint64)
>>> packed = pack(u)                                   # 1 width + 8 minimum + 1 word
>>> len(packed), unpack(packed, u.size).tolist()
(17, [7, 7, 7, 8, 9])
>>> x = np.array([20.5, 20.5, 20.75, 21.0]).view(np.uint64)        # float bits
>>> np.array_equal(xor_unpack(xor_pack(x), x.size), x), len(xor_pack(x))
(True, 26)
>>> unpack_bitmap(pack_bitmap([True, False, True]), 3).tolist()
[True, False, True]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BLOCK",
    "bit_length",
    "pack",
    "pack_bitmap",
    "unpack",
    "unpack_bitmap",
    "xor_bits",
    "xor_pack",
    "xor_unpack",
]

BLOCK = 1024  # values per frame-of-reference block (a multiple of 64)
_ROWS_PER_BLOCK = BLOCK // 64
_U64 = np.dtype("<u8")


def bit_length(x: np.ndarray) -> np.ndarray:
    """Bits needed for each ``uint64`` (0 for 0), like ``int.bit_length``, vectorised.

    >>> bit_length(np.array([0, 1, 255, 2**53 + 1, 2**64 - 1], dtype=np.uint64)).tolist()
    [0, 1, 8, 54, 64]
    """
    x = np.asarray(x, dtype=np.uint64)
    e = np.minimum(np.frexp(x.astype(np.float64))[1], 64).astype(np.int64)
    shift = np.maximum(e - 1, 0).astype(np.uint64)
    return e - ((e > 0) & ((x >> shift) == 0))  # float rounding can overshoot by one


def trailing_zeros(x: np.ndarray) -> np.ndarray:
    """Trailing zero bits of each ``uint64`` (0 for 0)."""
    x = np.asarray(x, dtype=np.uint64)
    low = x & (np.uint64(0) - x)  # lowest set bit: a power of two, exact as a float
    return np.where(x == 0, 0, np.frexp(low.astype(np.float64))[1] - 1).astype(np.int64)


def _blocks(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block: minimum and the bit width of ``max - min``."""
    starts = np.arange(0, u.size, BLOCK)
    lo = np.minimum.reduceat(u, starts)
    return lo, bit_length(np.maximum.reduceat(u, starts) - lo).astype(np.uint8)


def _pack_rows(m: np.ndarray, w: int) -> np.ndarray:
    """Rows of 64 values (``m`` is 64 x rows, lane-major) into ``w`` words per row."""
    out = np.zeros((w, m.shape[1]), dtype=np.uint64)
    for j in range(64):  # 64 lanes, each vectorised over every row
        k, off = divmod(j * w, 64)
        out[k] |= m[j] << np.uint64(off)
        if off + w > 64:
            out[k + 1] |= m[j] >> np.uint64(64 - off)
    return out


def _unpack_rows(words: np.ndarray, w: int) -> np.ndarray:
    """``w`` x rows words back into 64 x rows values."""
    out = np.empty((64, words.shape[1]), dtype=np.uint64)
    mask = np.uint64((1 << w) - 1)
    for j in range(64):
        k, off = divmod(j * w, 64)
        v = words[k] >> np.uint64(off)
        if off + w > 64:
            v |= words[k + 1] << np.uint64(64 - off)
        out[j] = v & mask
    return out


def _layout(widths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Width of each 64-value row, the word where it starts, and how many words are stored
    (the last row only the words its values fill)."""
    rows = -(-n // 64)
    row_w = np.repeat(widths.astype(np.int64), _ROWS_PER_BLOCK)[:rows]
    last = int(row_w[-1])
    stored = int(row_w.sum()) - last + -(-(n - 64 * (rows - 1)) * last // 64)
    return row_w, np.cumsum(row_w) - row_w, stored


def pack(u: np.ndarray) -> bytes:
    """Block frame-of-reference bit packing of a ``uint64`` array; see the module docstring."""
    u = np.asarray(u, dtype=np.uint64)
    n = u.size
    if n == 0:
        return b""
    lo, widths = _blocks(u)
    r = u - np.repeat(lo, BLOCK)[:n]
    rows = -(-n // 64)
    r = np.concatenate([r, np.zeros(rows * 64 - n, np.uint64)]).reshape(rows, 64)
    row_w, start, stored = _layout(widths, n)
    words = np.zeros(int(row_w.sum()), dtype=np.uint64)
    for w in np.unique(row_w):
        if w == 0:
            continue
        sel = np.flatnonzero(row_w == w)
        packed = _pack_rows(r[sel].T, int(w))  # w x len(sel)
        words[start[sel] + np.arange(w)[:, None]] = packed
    return widths.tobytes() + lo.astype(_U64).tobytes() + words[:stored].astype(_U64).tobytes()


def unpack(buf: bytes, n: int) -> np.ndarray:
    """The inverse of :func:`pack`, for ``n`` values."""
    if n == 0:
        return np.zeros(0, np.uint64)
    nb = -(-n // BLOCK)
    widths = np.frombuffer(buf, np.uint8, nb)
    if int(widths.max()) > 64:
        raise ValueError(f"bit width {int(widths.max())} > 64")
    lo = np.frombuffer(buf, _U64, nb, offset=nb).astype(np.uint64)
    row_w, start, stored = _layout(widths, n)
    if len(buf) != 9 * nb + 8 * stored:
        raise ValueError(f"packed integers: {len(buf)} bytes, expected {9 * nb + 8 * stored}")
    words = np.zeros(int(row_w.sum()), dtype=np.uint64)
    words[:stored] = np.frombuffer(buf, _U64, stored, offset=9 * nb)
    out = np.zeros((row_w.size, 64), dtype=np.uint64)
    for w in np.unique(row_w):
        if w == 0:
            continue
        sel = np.flatnonzero(row_w == w)
        out[sel] = _unpack_rows(words[start[sel] + np.arange(w)[:, None]], int(w)).T
    return out.reshape(-1)[:n] + np.repeat(lo, BLOCK)[:n]


def pack_bitmap(mask: np.ndarray) -> bytes:
    """Booleans as bits, least significant bit first (Arrow's validity layout)."""
    return np.packbits(np.asarray(mask, dtype=bool), bitorder="little").tobytes()


def unpack_bitmap(buf: bytes, n: int) -> np.ndarray:
    if len(buf) != -(-n // 8):
        raise ValueError(f"bitmap of {n} values: {len(buf)} bytes, expected {-(-n // 8)}")
    bits = np.unpackbits(np.frombuffer(buf, np.uint8), count=n, bitorder="little")
    return bits.view(bool)


def xor_pack(b: np.ndarray) -> bytes:
    """Float bits (as ``uint64``) XOR-ed with the previous value, Gorilla style, per block:
    the common trailing zero bits dropped (one byte says how many), leading zeros gone with
    the block's bit width."""
    x = b.copy()
    x[1:] ^= b[:-1]
    tz = trailing_zeros(np.bitwise_or.reduceat(x, np.arange(0, x.size, BLOCK))) if x.size else x
    shift = tz.astype(np.uint64)
    return shift.astype(np.uint8).tobytes() + pack(x >> np.repeat(shift, BLOCK)[: x.size])


def xor_unpack(buf: bytes, n: int) -> np.ndarray:
    nb = -(-n // BLOCK)
    shift = np.frombuffer(buf, np.uint8, nb).astype(np.uint64)
    return np.bitwise_xor.accumulate(unpack(buf[nb:], n) << np.repeat(shift, BLOCK)[:n])


def xor_bits(rows: np.ndarray) -> int:
    """Estimated packed bits of :func:`xor_pack` for the rows of :func:`sample_blocks`."""
    x = rows.copy()
    x[:, 1:] ^= rows[:, :-1]
    s = x >> trailing_zeros(np.bitwise_or.reduce(x, axis=1)).astype(np.uint64)[:, None]
    return int(bit_length(s.max(axis=1) - s.min(axis=1)).sum()) if s.size else 0
