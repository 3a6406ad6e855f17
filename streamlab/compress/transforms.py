"""Transforms that make a column's integers small before :mod:`.bits` packs them: delta and
delta of delta, zigzag, decimal floats as scaled integers, and the row order that puts each
series of a grouping column together. Plain numpy; no per-value Python loops.

Arithmetic wraps modulo 2**64 (``int64`` differences never raise), so every ``int64`` array
round-trips, ``NaT`` and the extremes included.

Examples
--------
>>> import numpy as np
>>> from streamlab.compress.bits import pack, unpack
>>> t = np.arange(0, 10_000_000_000, 1_000_000_000)   # regular 1 s timestamps, in ns
>>> d = delta(t, 2)                                    # delta of delta: a run of zeros
>>> d[:4].tolist()
[0, 1000000000, 0, 0]
>>> packed = pack(zigzag(d))
>>> len(packed), np.array_equal(undelta(unzigzag(unpack(packed, t.size)), 2), t)
(49, True)
>>> codes = np.array([1, 0, 1, 0]); perm = group_order(codes)    # rows of each group together
>>> perm.tolist(), unpermute(np.arange(4)[perm], perm).tolist()
([1, 3, 0, 2], [0, 1, 2, 3])
"""

from __future__ import annotations

import numpy as np

from .bits import BLOCK, bit_length

__all__ = [
    "best_order",
    "delta",
    "ffill_index",
    "group_order",
    "sample_blocks",
    "scaled",
    "undelta",
    "unpermute",
    "unzigzag",
    "zigzag",
]


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


def unpermute(v: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Undo ``v = w[perm]``: the array ``w``."""
    out = np.empty_like(v)
    out[perm] = v
    return out


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
