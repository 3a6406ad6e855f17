"""Huffman codes as DEFLATE builds and sends them (RFC 1951 3.2.2): code lengths from symbol
counts (at most 15 bits), the canonical code those lengths define, and the lookup table a
decoder reads it with. Used by :mod:`.deflate_write` and :mod:`.deflate_read`.

Examples
--------
>>> lengths = code_lengths([5, 2, 1, 1])
>>> lengths.tolist(), [f"{c:0{n}b}" for c, n in zip(canonical_codes(lengths), lengths)]
([1, 2, 3, 3], ['0', '10', '110', '111'])
>>> table, bits = decode_table(lengths, "literal/length")  # entry: symbol << 4 | length
>>> bits, [table[i] >> 4 for i in (0b000, 0b001, 0b011, 0b111)]
(3, [0, 1, 2, 3])
"""

from __future__ import annotations

import heapq

import numpy as np

from .base import CodecError

__all__ = [
    "CL_ORDER",
    "END_OF_BLOCK",
    "MAX_CL_BITS",
    "canonical_codes",
    "code_lengths",
    "decode_table",
    "reversed_codes",
]

MAX_BITS = 15  # longest literal/length or distance code DEFLATE allows
MAX_CL_BITS = 7  # longest code of the code-length alphabet
END_OF_BLOCK = 256
#: the order in which a dynamic block sends the code-length code's lengths (RFC 1951 3.2.7):
#: lengths that are rarely used come last, so the list can be cut short
CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)


# -- building a code ---------------------------------------------------------------------------
def code_lengths(freqs, max_bits: int = MAX_BITS) -> np.ndarray:
    """Huffman code lengths for the symbol counts ``freqs``, none longer than ``max_bits``.

    Huffman's algorithm: merge the two rarest groups of symbols until one group is left; each
    merge hangs both groups one level deeper in the tree, so their codes get one bit longer.
    Unused symbols get length 0. At least two symbols get a code (a tree of one leaf has no
    branches), as in zlib, so every code is complete.

    Examples
    --------
    >>> code_lengths([5, 2, 1, 1, 0]).tolist()
    [1, 2, 3, 3, 0]
    >>> code_lengths([0, 0, 7]).tolist()  # a lone symbol gets a partner
    [1, 0, 1]
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    lengths = np.zeros(len(freqs), dtype=np.int64)
    used = np.flatnonzero(freqs).tolist()
    if len(used) < 2:
        lengths[(used + [s for s in range(len(freqs)) if s not in used])[:2]] = 1
        return lengths
    heap = [(int(freqs[s]), s, [s]) for s in used]  # (count, tie-breaker, symbols in the group)
    heapq.heapify(heap)
    while len(heap) > 1:
        count_a, tie, group_a = heapq.heappop(heap)
        count_b, _, group_b = heapq.heappop(heap)
        lengths[group_a + group_b] += 1
        heapq.heappush(heap, (count_a + count_b, tie, group_a + group_b))
    return _limit_lengths(lengths, freqs, max_bits) if lengths.max() > max_bits else lengths


def _limit_lengths(lengths: np.ndarray, freqs: np.ndarray, max_bits: int) -> np.ndarray:
    """Cut codes longer than ``max_bits`` (the heuristic of zlib and miniz).

    Kraft: a prefix code with these lengths exists iff ``sum(2**-length) <= 1``. Cutting the
    long codes to ``max_bits`` breaks that, so, until it holds again, take a code off the deepest
    level and split a leaf of the deepest level above it in two: the same number of codes, and
    the sum down by ``2**-max_bits``. Then hand out the lengths again, shortest to most frequent.
    """
    counted = np.bincount(lengths, minlength=max_bits + 1)
    counted[max_bits] += counted[max_bits + 1 :].sum()
    per_length = [0, *counted[1 : max_bits + 1].tolist()]
    kraft = sum(n << (max_bits - bits) for bits, n in enumerate(per_length) if bits)
    while kraft > 1 << max_bits:  # fewer rounds than there were cut codes
        bits = max(b for b in range(1, max_bits) if per_length[b])
        per_length[max_bits], per_length[bits] = per_length[max_bits] - 1, per_length[bits] - 1
        per_length[bits + 1] += 2
        kraft -= 1
    by_count = sorted(np.flatnonzero(lengths).tolist(), key=lambda s: (-freqs[s], s))
    new = np.zeros_like(lengths)
    new[by_count] = np.repeat(np.arange(max_bits + 1), per_length)
    return new


def canonical_codes(lengths) -> np.ndarray:
    """The canonical Huffman code with these lengths (RFC 1951 3.2.2).

    Shorter codes come first, and codes of one length follow the symbol order, so the lengths
    alone define the code. A code is a number read most significant bit first.

    Examples
    --------
    >>> [f"{c:0{n}b}" for c, n in zip(canonical_codes([2, 1, 3, 3]), [2, 1, 3, 3])]
    ['10', '0', '110', '111']
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    count = np.bincount(lengths, minlength=MAX_BITS + 1)
    count[0] = 0
    next_code, code = [0] * len(count), 0
    for bits in range(1, len(count)):  # the first code of each length
        code = (code + int(count[bits - 1])) << 1
        next_code[bits] = code
    codes = np.zeros(len(lengths), dtype=np.int64)
    for symbol, bits in enumerate(lengths.tolist()):
        if bits:
            codes[symbol], next_code[bits] = next_code[bits], next_code[bits] + 1
    return codes


def reverse_bits(code: int, bits: int) -> int:
    """``reverse_bits(0b110, 3) == 0b011``. DEFLATE fills bytes from the lowest bit up but sends
    Huffman codes highest bit first: reversed once, a code packs like any other number."""
    return int(f"{code:0{bits}b}"[::-1], 2) if bits else 0


def reversed_codes(lengths) -> np.ndarray:
    """The canonical codes, bit-reversed and ready to pack."""
    pairs = zip(canonical_codes(lengths).tolist(), np.asarray(lengths).tolist(), strict=True)
    return np.array([reverse_bits(code, bits) for code, bits in pairs], np.int64)


# -- reading a code ----------------------------------------------------------------------------
def decode_table(lengths, what: str) -> tuple[list[int], int]:
    """A lookup table for the canonical code with these lengths, and how many bits it reads.

    ``table[next_bits]`` is ``symbol << 4 | code_length``, or 0 where no code starts. Input
    comes least significant bit first, so a code of ``n`` bits is the low ``n`` bits of the
    index, reversed: the indices ``r, r + 2**n, r + 2 * 2**n, ...`` (the slice
    ``table[r :: 2**n]``) all decode to that symbol, whatever bits follow the code.
    """
    lengths = [int(n) for n in lengths]
    count = np.bincount(lengths, minlength=MAX_BITS + 1)
    left = 1  # bit patterns not yet taken, as the number of codes of the current length
    for bits in range(1, MAX_BITS + 1):
        left = 2 * left - int(count[bits])
        if left < 0:
            raise CodecError(f"huffman: bad {what} code lengths: more codes than bit patterns")
    max_len = max(lengths, default=0)
    # like zlib, accept one lone 1-bit literal/length or distance code, and no distance codes
    if left and max_len and (what == "code-length" or max_len > 1):
        raise CodecError(f"huffman: bad {what} code lengths: some bit patterns start no code")
    table = [0] * (size := 1 << max_len)
    for symbol, code in enumerate(canonical_codes(lengths).tolist()):
        if bits := lengths[symbol]:
            table[reverse_bits(code, bits) :: 1 << bits] = [symbol << 4 | bits] * (size >> bits)
    return table, max_len
