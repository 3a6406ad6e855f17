"""Writing DEFLATE (RFC 1951): fields packed into bytes least significant bit first, and
dynamic-Huffman blocks of literals (or stored blocks when Huffman coding does not pay), as
:class:`~streamlab.compress.huffman.HuffmanCodec` sends them. zlib reads the output.

Examples
--------
>>> import zlib
>>> import numpy as np
>>> out = BitWriter()
>>> write_block(out, np.frombuffer(b"abracadabra", np.uint8), final=True)
>>> zlib.decompress(out.getvalue(), -15)
b'abracadabra'
"""

from __future__ import annotations

import numpy as np

from .huffman_code import CL_ORDER, END_OF_BLOCK, MAX_CL_BITS, code_lengths, reversed_codes

__all__ = ["BitWriter", "pack_bits", "tree_header", "write_block"]


def pack_bits(values, nbits) -> tuple[bytes, int]:
    """Pack fields into bytes, least significant bit first (the first field takes the lowest
    bits of the first byte). Returns the bytes, the last one zero-padded, and the bit count.

    Fields never overlap, so OR-ing them together is all it takes: a field goes into the 64-bit
    word holding its first bit, and what sticks out into the next word; one
    ``np.bitwise_or.reduceat`` combines all the fields that start in the same word.

    Examples
    --------
    >>> pack_bits([1, 2, 0b101], [1, 2, 3])  # 1, then 2 (0b10 from the low bit: 0 1), then 101
    (b'-', 6)
    """
    values, nbits = np.asarray(values, np.uint64), np.asarray(nbits, np.int64)
    end = np.cumsum(nbits)
    total = int(end[-1]) if len(end) else 0
    if total == 0:
        return b"", 0
    start = end - nbits  # each field's first bit
    word, shift = start >> 6, (start & 63).astype(np.uint64)
    low = values << shift  # the bits that fit in the field's first word ...
    high = (values >> np.uint64(1)) >> (np.uint64(63) - shift)  # ... the rest (0 if shift=0)
    words = np.zeros(total // 64 + 2, np.uint64)
    first = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])  # first field of each word
    words[word[first]] = np.bitwise_or.reduceat(low, first)
    words[word[first] + 1] |= np.bitwise_or.reduceat(high, first)
    return words.astype("<u8").tobytes()[: (total + 7) // 8], total


class BitWriter:
    """DEFLATE's output. Blocks follow each other bit by bit, so keep the unfinished byte."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.tail, self.tail_bits = 0, 0  # the last, partly filled byte

    def write(self, values, nbits) -> None:
        data, total = pack_bits(np.r_[self.tail, values], np.r_[self.tail_bits, nbits])
        whole, self.tail_bits = divmod(total, 8)
        self.chunks.append(data[:whole])
        self.tail = data[whole] if self.tail_bits else 0

    def getvalue(self) -> bytes:
        return b"".join(self.chunks) + (bytes([self.tail]) if self.tail_bits else b"")


def run_length_code(lengths) -> list[tuple[int, int, int]]:
    """Code lengths as code-length symbols (RFC 1951 3.2.7): (symbol, extra value, extra bits).

    0..15 are lengths; 16 repeats the previous length 3-6 times (2 extra bits); 17 and 18
    stand for 3-10 and 11-138 zeros (3 and 7 extra bits).

    Examples
    --------
    >>> run_length_code([8] * 7 + [0] * 20 + [5])
    [(8, 0, 0), (16, 3, 2), (18, 9, 7), (5, 0, 0)]
    """
    lengths, out, i = list(lengths), [], 0
    while i < len(lengths):
        value, run = lengths[i], 1
        while i + run < len(lengths) and lengths[i + run] == value:
            run += 1
        if value == 0 and run >= 11:
            run = min(run, 138)
            out.append((18, run - 11, 7))
        elif value == 0 and run >= 3:
            out.append((17, run - 3, 3))
        elif value != 0 and run >= 4:  # the length itself, then "repeat it" 3-6 times
            run = min(run, 7)
            out += [(value, 0, 0), (16, run - 4, 2)]
        else:
            run = 1
            out.append((value, 0, 0))
        i += run
    return out


def tree_header(lit_lengths: np.ndarray, dist_lengths: np.ndarray) -> tuple[list, list]:
    """A dynamic block's header (values and bit counts): HLIT, HDIST, HCLEN, the lengths of the
    code-length code, then the literal/length and distance code lengths coded with it."""
    hlit = max(257, int(np.flatnonzero(lit_lengths)[-1]) + 1)
    hdist = max(1, int(np.flatnonzero(dist_lengths)[-1]) + 1)
    coded = run_length_code(np.r_[lit_lengths[:hlit], dist_lengths[:hdist]])
    cl_lengths = code_lengths(np.bincount([c[0] for c in coded], minlength=19), MAX_CL_BITS)
    cl_codes = reversed_codes(cl_lengths)
    sent = cl_lengths[list(CL_ORDER)].tolist()
    hclen = max(4, max(i for i, n in enumerate(sent) if n) + 1)
    values, nbits = [hlit - 257, hdist - 1, hclen - 4, *sent[:hclen]], [5, 5, 4] + [3] * hclen
    for symbol, extra, bits in coded:
        values += [int(cl_codes[symbol]), extra]
        nbits += [int(cl_lengths[symbol]), bits]
    return values, nbits


def write_block(out: BitWriter, block: np.ndarray, final: bool) -> None:
    """Write ``block`` (bytes as uint8) as one dynamic-Huffman block (BTYPE=2, RFC 1951 3.2.7),
    or as stored blocks if Huffman coding does not make it smaller (random bytes do that)."""
    freqs = np.bincount(block, minlength=286)  # 0..255 bytes, 256 end of block, 257.. lengths
    freqs[END_OF_BLOCK] = 1
    lit_lengths = code_lengths(freqs)
    # no back-references, but decoders want a distance code: this gives two 1-bit codes
    dist_lengths = code_lengths(np.zeros(30, np.int64))
    head_values, head_bits = tree_header(lit_lengths, dist_lengths)
    codes = reversed_codes(lit_lengths)  # the lookup by fancy indexing: codes[block]
    values = np.r_[int(final), 2, head_values, codes[block], codes[END_OF_BLOCK]]
    nbits = np.r_[1, 2, head_bits, lit_lengths[block], lit_lengths[END_OF_BLOCK]]
    if len(block) == 0 or nbits.sum() <= 8 * len(block) + 40 * (len(block) // 65535 + 1):
        out.write(values, nbits)
        return
    for start in range(0, len(block), 65535):  # stored (BTYPE=0): byte-aligned, <= 64 KiB each
        piece = block[start : start + 65535].tobytes()
        last = final and start + 65535 >= len(block)
        pad = -(out.tail_bits + 3) % 8
        out.write([int(last), 0, 0, len(piece), len(piece) ^ 0xFFFF], [1, 2, pad, 16, 16])
        out.chunks.append(piece)
