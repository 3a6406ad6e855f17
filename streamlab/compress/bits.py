"""Bit-level building blocks for the column codecs: delta, zigzag, block bit packing, bitmaps,
and the entropy stage. Plain numpy; no per-value Python loops.

Integers are packed in blocks of 1024 values. Each block stores its minimum (frame of
reference, 8 bytes) and the bit width of ``max - min`` (1 byte); its values then take exactly
that many bits each, so a block of equal values (a run of zero deltas) costs nothing but its
header. Packing works on rows of 64 values: 64 values of width ``w`` fill exactly ``w``
64-bit words, so one loop over the 64 lanes packs every row of that width at once.

Arithmetic wraps modulo 2**64 (``int64`` differences never raise), so every ``int64`` array
round-trips, ``NaT`` and the extremes included.

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 10_000_000_000, 1_000_000_000)   # regular 1 s timestamps, in ns
>>> d = delta(t, 2)                                    # delta of delta: a run of zeros
>>> d[:4].tolist()
[0, 1000000000, 0, 0]
>>> packed = pack(zigzag(d))
>>> len(packed), np.array_equal(undelta(unzigzag(unpack(packed, t.size)), 2), t)
(49, True)
>>> x = np.array([20.5, 20.5, 20.75, 21.0]).view(np.uint64)        # float bits
>>> np.array_equal(xor_unpack(xor_pack(x), x.size), x), len(xor_pack(x))
(True, 26)
>>> codes = np.array([1, 0, 1, 0]); perm = group_order(codes)    # rows of each group together
>>> perm.tolist(), unpermute(np.arange(4)[perm], perm).tolist()
([1, 3, 0, 2], [0, 1, 2, 3])
>>> list(split_blobs(join_blobs([b"ab", b"", b"c"])))
[b'ab', b'', b'c']
>>> Entropy("zlib").decompress(Entropy("zlib").compress(b"abc" * 100), 300) == b"abc" * 100
True
"""

from __future__ import annotations

import importlib.util
import zlib
from collections.abc import Iterator

import numpy as np

from ..core.checks import check_choice, check_number
from ..errors import ConfigError
from .base import over_limit
from .inflate import inflate_zlib, inflate_zstd

__all__ = [
    "BLOCK",
    "Entropy",
    "best_order",
    "bit_length",
    "delta",
    "ffill_index",
    "group_order",
    "join_blobs",
    "pack",
    "pack_bitmap",
    "sample_blocks",
    "scaled",
    "split_blobs",
    "trailing_zeros",
    "undelta",
    "unpack",
    "unpack_bitmap",
    "unpermute",
    "unzigzag",
    "xor_bits",
    "xor_pack",
    "xor_unpack",
    "zigzag",
]

BLOCK = 1024  # values per frame-of-reference block (a multiple of 64)
_ROWS_PER_BLOCK = BLOCK // 64
_U64 = np.dtype("<u8")
_LANES = np.arange(64, dtype=np.uint64)


def delta(v: np.ndarray, order: int) -> np.ndarray:
    """``order`` times the difference with the previous value (the first against 0), wrapping."""
    d = np.asarray(v, dtype=np.int64)
    for _ in range(order):
        d = np.diff(d, prepend=np.int64(0))
    return d


def undelta(d: np.ndarray, order: int) -> np.ndarray:
    """The inverse of :func:`delta` (cumulative sums, wrapping)."""
    v = np.asarray(d, dtype=np.int64)
    for _ in range(order):
        v = np.cumsum(v, dtype=np.int64)
    return v


def zigzag(v: np.ndarray) -> np.ndarray:
    """Signed to unsigned so that small magnitudes get small codes: 0, -1, 1, -2 -> 0, 1, 2, 3."""
    v = np.asarray(v, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


def unzigzag(u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=np.uint64)
    return ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)


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


def unpermute(v: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Undo ``v = w[perm]``: the array ``w``."""
    out = np.empty_like(v)
    out[perm] = v
    return out


def join_blobs(blobs: list[bytes]) -> bytes:
    """Blobs, each after its length (4 bytes, little-endian)."""
    return b"".join(len(b).to_bytes(4, "little") + b for b in blobs)


def split_blobs(buf: bytes) -> Iterator[bytes]:
    """The inverse of :func:`join_blobs`, one blob at a time."""
    view, pos = memoryview(buf), 0
    while pos < len(view):
        end = pos + 4 + int.from_bytes(view[pos : pos + 4], "little")
        if end > len(view):
            raise ValueError(f"truncated: a blob ends at byte {end} of {len(view)}")
        yield bytes(view[pos + 4 : end])
        pos = end


def pack_bitmap(mask: np.ndarray) -> bytes:
    """Booleans as bits, least significant bit first (Arrow's validity layout)."""
    return np.packbits(np.asarray(mask, dtype=bool), bitorder="little").tobytes()


def unpack_bitmap(buf: bytes, n: int) -> np.ndarray:
    if len(buf) != -(-n // 8):
        raise ValueError(f"bitmap of {n} values: {len(buf)} bytes, expected {-(-n // 8)}")
    bits = np.unpackbits(np.frombuffer(buf, np.uint8), count=n, bitorder="little")
    return bits.view(bool)


def ffill_index(missing: np.ndarray) -> np.ndarray:
    """For each position, the last position at or before it that is not missing (0 if none)."""
    idx = np.where(missing, 0, np.arange(missing.size))
    return np.maximum.accumulate(idx) if idx.size else idx


def group_order(codes: np.ndarray) -> np.ndarray:
    """Row order that puts each group's rows together, keeping their order (stable sort of
    dictionary codes, -1 for missing; a radix sort for up to 65535 groups)."""
    k = int(codes.max()) + 2 if codes.size else 1
    small = np.uint8 if k <= 256 else np.uint16 if k <= 65536 else np.int64
    return np.argsort((codes + 1).astype(small), kind="stable")


def sample_blocks(v: np.ndarray, perm: np.ndarray | None = None) -> np.ndarray:
    """Up to eight evenly spaced runs of ``BLOCK`` values (in ``perm`` order), as rows."""
    if v.size <= 8 * BLOCK:
        return (v if perm is None else v[perm])[None, :]
    idx = np.linspace(0, v.size - BLOCK, 8).astype(np.int64)[:, None] + np.arange(BLOCK)
    return v[idx if perm is None else perm[idx]]


def best_order(v: np.ndarray, perm: np.ndarray | None = None) -> tuple[int, bool, int]:
    """(delta order 0-2, use ``perm``?, packed bits) with the fewest bits on sampled blocks."""
    best = (0, False, 1 << 62)
    for grouped in (False, True) if perm is not None else (False,):
        d = sample_blocks(v, perm if grouped else None)
        for order in range(3):
            d = np.diff(d, axis=1) if order else d
            z = zigzag(d)
            bits = int(bit_length(z.max(axis=1) - z.min(axis=1)).sum()) if z.size else 0
            best = min(best, (order, grouped, bits), key=lambda c: c[2])
    return best


def scaled(x: np.ndarray, most: int = 15) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Decimal floats as integers: the fewest decimals ``d`` (at most ``most``) for which at
    least 99% of sampled values come back bit for bit from ``int64(rint(x * 10**d)) / 10**d``
    (the decoder's formula); returns ``d``, the integers and where they do *not* give ``x``
    back (NaN, inf, -0.0, a value with more decimals: patches), or None.

    >>> d, ints, patch = scaled(np.array([1.5, -0.25, 3.0] * 100 + [np.nan, -0.0]))
    >>> d, ints[:3].tolist(), np.flatnonzero(patch).tolist()
    (2, [150, -25, 300], [300, 301])
    >>> print(scaled(np.array([0.1 + 0.2, 1 / 3])))
    None
    """
    if x.size == 0:
        return None
    sample = x[:: max(1, x.size // 2048)]
    d = next((d for d in range(most + 1) if _rounded(sample, d)[1].mean() >= 0.99), None)
    if d is None:
        return None
    ints, ok = _rounded(x, d)
    return d, ints, ~ok


def _rounded(x: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    p, u = 10.0**d, f"u{x.dtype.itemsize}"
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.rint(x * p)
        fits = np.abs(r) < 2.0**53
    ints = np.where(fits, r, 0).astype(np.int64)
    ok = fits & ((ints / p).astype(x.dtype, copy=False).view(u) == x.view(u))
    return np.where(ok, ints, 0), ok


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


_ENTROPY_IDS = {"none": 0, "zlib": 1, "zstd": 2}


class Entropy:
    """The entropy stage: zstd (default; zlib when ``zstandard`` is not installed), zlib or none.

    Each stream starts with one byte: 0 stored as is (when compressing would not make it
    smaller), 1 compressed.

    Examples
    --------
    >>> e = Entropy("zstd", level=3)
    >>> blob = e.compress(bytes(1000))
    >>> len(blob) < 100, e.decompress(blob, limit=1000) == bytes(1000)
    (True, True)
    >>> e.decompress(blob, limit=999, name="timeseries")
    Traceback (most recent call last):
    ...
    streamlab.errors.CodecLimitError: timeseries: declares 1000 decoded bytes (1000 B), more than max_decoded=999 (999 B); ...
    >>> Entropy("zip")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: entropy='zip' is not one of 'zstd', 'zlib', 'none'. Did you mean 'zlib'?
    """

    def __init__(self, name: str = "zstd", *, level: int | None = None) -> None:
        check_choice("entropy", name, ["zstd", "zlib", "none"])
        if name == "zstd" and importlib.util.find_spec("zstandard") is None:
            name = "zlib"  # documented fallback: the codecs extra is optional
        if level is not None:
            level = check_number("level", level, low=-7, high=22, integer=True)
        self.name = name
        self.id = _ENTROPY_IDS[name]
        self.level = (3 if name == "zstd" else 1) if level is None else level
        self._zc = self._zd = None

    @classmethod
    def from_id(cls, ident: int) -> Entropy:
        names = {v: k for k, v in _ENTROPY_IDS.items()}
        if ident not in names:
            raise ValueError(f"unknown entropy stage {ident}")
        if names[ident] == "zstd" and importlib.util.find_spec("zstandard") is None:
            raise ConfigError(
                "this frame was compressed with zstd; pip install 'streamlab[codecs]'"
            )
        return cls(names[ident])

    def _raw(self, data: bytes) -> bytes:
        if self.name == "zlib":
            return zlib.compress(data, self.level)
        if self._zc is None:
            import zstandard

            self._zc = zstandard.ZstdCompressor(level=self.level)
        return self._zc.compress(data)

    def compress(self, data: bytes) -> bytes:
        if self.name != "none" and len(data) > 16:
            packed = self._raw(data)
            if len(packed) < len(data):
                return b"\x01" + packed
        return b"\x00" + bytes(data)

    def decompress(self, data: bytes, limit: int, name: str = "entropy") -> bytes:
        """The stream's bytes; at most ``limit`` of them (``CodecLimitError`` naming ``name``
        past it: the inflater stops there)."""
        data = bytes(data)
        if data[:1] == b"\x00":
            if len(data) - 1 > limit:
                raise over_limit(name, limit)
            return data[1:]
        if data[:1] != b"\x01":
            raise ValueError("entropy stream: bad flag byte")
        if self.name == "zlib":
            return inflate_zlib(data[1:], limit, name)
        if self.name == "none":
            raise ValueError("entropy stream: compressed data in a frame without an entropy stage")
        if self._zd is None:
            import zstandard

            self._zd = zstandard.ZstdDecompressor()
        return inflate_zstd(data[1:], limit, name, self._zd)
