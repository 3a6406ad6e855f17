"""Huffman coding as DEFLATE does it (RFC 1951): a teaching codec whose output zlib reads.

For each block of input:

1. count how often each byte occurs (``np.bincount``);
2. give frequent bytes short codes with :func:`code_lengths` (at most 15 bits, as DEFLATE wants);
3. send only the code lengths: both sides derive the same :func:`canonical_codes` from them;
4. send each byte's code and an end-of-block symbol (:func:`write_block`), packed into bytes all
   at once with numpy (:func:`pack_bits`).

The encoder sends literals only, like zlib's ``Z_HUFFMAN_ONLY``. :func:`inflate` reads all of
DEFLATE (stored, fixed and dynamic blocks, LZ77 back-references) with lookup tables.

Examples
--------
>>> import zlib
>>> codec = HuffmanCodec()
>>> packed = codec.encode(b"abracadabra" * 100)
>>> len(packed), zlib.decompress(packed, -15) == b"abracadabra" * 100
(316, True)
>>> codec.decode(zlib.compress(b"hello hello hello", 9)[2:-4])  # zlib's raw DEFLATE
b'hello hello hello'
>>> codec.decode(b"\\x07")  # BFINAL=1 then BTYPE=3
Traceback (most recent call last):
...
streamlab.errors.CodecError: huffman: invalid block type 3 (reserved) at bit 1; ...
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math

import numpy as np
import pandas as pd

from ..core.checks import check_number
from .base import (
    MAX_DECODED,
    Codec,
    CodecError,
    CodecLimitError,
    check_max_decoded,
    over_limit,
)

__all__ = ["HuffmanCodec", "canonical_codes", "code_lengths", "inflate", "pack_bits"]

MAX_BITS = 15  # longest literal/length or distance code DEFLATE allows
MAX_CL_BITS = 7  # longest code of the code-length alphabet
END_OF_BLOCK = 256
#: the order in which a dynamic block sends the code-length code's lengths (RFC 1951 3.2.7):
#: lengths that are rarely used come last, so the list can be cut short
CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)
#: length symbols 257..285 and distance symbols 0..29 (RFC 1951 3.2.5) each stand for a range of
#: lengths or distances starting at BASE; the EXTRA bits after the code pick one of them
LENGTH_EXTRA = (0,) * 8 + tuple(k // 4 for k in range(4, 24)) + (0,)  # 0 0 .. 1 1 1 1 .. 5 0
LENGTH_BASE = (*itertools.accumulate(LENGTH_EXTRA[:-2], lambda b, e: b + (1 << e), initial=3), 258)
DIST_EXTRA = (0, 0, *(k // 2 for k in range(28)))  # 0 0 0 0 1 1 2 2 .. 13 13
DIST_BASE = tuple(itertools.accumulate(DIST_EXTRA[:-1], lambda b, e: b + (1 << e), initial=1))


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
    per_length = np.bincount(lengths, minlength=max_bits + 1)
    per_length[max_bits] += per_length[max_bits + 1 :].sum()
    per_length = [0, *per_length[1 : max_bits + 1].tolist()]
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


# -- writing -----------------------------------------------------------------------------------
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


# -- reading -----------------------------------------------------------------------------------
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


class BitReader:
    """DEFLATE's input bits, least significant first. ``buf`` holds ``nbits`` unread bits (the
    next one is ``buf & 1``) and is refilled 8 bytes at a time. Past the end it reads zeros, but
    at most 16 bytes of them, so no loop runs forever on a truncated stream."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.buf, self.nbits = data, 0, 0, 0

    def need(self, n: int) -> None:
        while self.nbits < n:
            if self.pos > len(self.data) + 16:
                raise self.truncated()
            self.buf |= int.from_bytes(self.data[self.pos : self.pos + 8], "little") << self.nbits
            self.pos, self.nbits = self.pos + 8, self.nbits + 64

    def bits(self, n: int) -> int:
        """The next ``n`` bits as a number (every field except Huffman codes)."""
        self.need(n)
        value = self.buf & ((1 << n) - 1)
        self.buf, self.nbits = self.buf >> n, self.nbits - n
        return value

    def symbol(self, table: list[int], max_len: int, what: str) -> int:
        """The next Huffman-coded symbol, found with a :func:`decode_table`."""
        self.need(max_len)
        entry = table[self.buf & ((1 << max_len) - 1)]
        if not entry:
            raise self.corrupt(f"invalid {what} code", self.tell())
        self.bits(entry & 15)
        return entry >> 4

    def take_bytes(self, n: int) -> bytes:
        """``n`` whole bytes from the next byte boundary on (a stored block's data)."""
        start = (self.tell() + 7) // 8
        if start + n > len(self.data):
            raise self.truncated()
        self.pos, self.buf, self.nbits = start + n, 0, 0
        return self.data[start : start + n]

    def tell(self) -> int:
        return 8 * self.pos - self.nbits

    def corrupt(self, message: str, bit: int) -> CodecError:
        """The error for bad input at ``bit``; past the end of the input, truncation."""
        if bit > 8 * len(self.data):
            return self.truncated()
        return CodecError(f"huffman: {message} at bit {bit}")

    def truncated(self) -> CodecError:
        return CodecError(f"huffman: truncated stream: its {len(self.data)} bytes end in a block")


@functools.cache
def fixed_tables() -> tuple:
    """The fixed codes of BTYPE=1 blocks (RFC 1951 3.2.6), as decode tables."""
    lit = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
    return decode_table(lit, "literal/length"), decode_table([5] * 32, "distance")


def read_tree_header(r: BitReader) -> tuple:
    """Read a dynamic block's code lengths (what :func:`tree_header` writes); make the tables."""
    hlit, hdist, hclen = r.bits(5) + 257, r.bits(5) + 1, r.bits(4) + 4
    if hlit > 286 or hdist > 30:
        raise CodecError(f"huffman: bad code lengths: HLIT={hlit} > 286 or HDIST={hdist} > 30")
    cl_lengths = [0] * 19
    for symbol in CL_ORDER[:hclen]:
        cl_lengths[symbol] = r.bits(3)
    cl_table = decode_table(cl_lengths, "code-length")
    lengths: list[int] = []
    while len(lengths) < hlit + hdist:  # each round adds >= 1 length: at most 316 rounds
        symbol = r.symbol(*cl_table, "code-length")
        if symbol < 16:
            lengths.append(symbol)
            continue
        if symbol == 16 and not lengths:
            raise CodecError("huffman: bad code lengths: 'repeat the previous' (16) comes first")
        shortest, extra_bits = {16: (3, 2), 17: (3, 3), 18: (11, 7)}[symbol]  # see run_length_code
        repeat, value = shortest + r.bits(extra_bits), lengths[-1] if symbol == 16 else 0
        if len(lengths) + repeat > hlit + hdist:
            raise CodecError("huffman: bad code lengths: a repeat runs past HLIT + HDIST")
        lengths += [value] * repeat
    if lengths[END_OF_BLOCK] == 0:
        raise CodecError("huffman: bad code lengths: no code for end-of-block")
    return decode_table(lengths[:hlit], "literal/length"), decode_table(lengths[hlit:], "distance")


def inflate_codes(r: BitReader, out: bytearray, lit: tuple, dist: tuple, limit: int) -> None:
    """Decode one Huffman-coded block into ``out``, up to its end-of-block (RFC 1951 3.2.5).

    The decoder's hot loop: it keeps the reader's state in local variables. ``out`` is
    checked against ``limit`` at every refill of the bit buffer: between two refills at most
    64 symbols are read (each takes a bit or more), so ``out`` never grows more than
    64 * 258 bytes past ``limit`` before the block is refused.
    """
    (lit_table, lit_bits), (dist_table, dist_bits) = lit, dist
    lit_mask, dist_mask = (1 << lit_bits) - 1, (1 << dist_bits) - 1
    data, pos, buf, nbits, end = r.data, r.pos, r.buf, r.nbits, len(r.data) + 16
    append = out.append
    while True:  # each round uses >= 1 bit and `end` caps the refills, so this ends
        if nbits < 48:  # the longest length + distance takes 15 + 5 + 15 + 13 = 48 bits
            if pos > end:
                raise r.truncated()
            if len(out) > limit:
                raise over_limit("huffman", limit)
            buf |= int.from_bytes(data[pos : pos + 8], "little") << nbits
            pos, nbits = pos + 8, nbits + 64
        entry = lit_table[buf & lit_mask]
        n = entry & 15
        if not n:
            raise r.corrupt("invalid literal/length code", 8 * pos - nbits)
        buf, nbits, symbol = buf >> n, nbits - n, entry >> 4
        if symbol < 256:  # a literal byte
            append(symbol)
            continue
        if symbol == END_OF_BLOCK:
            break
        if symbol > 285:
            raise r.corrupt(f"invalid length symbol {symbol}", 8 * pos - nbits)
        n = LENGTH_EXTRA[symbol - 257]  # a match: its length, then how far back it starts
        length = LENGTH_BASE[symbol - 257] + (buf & ((1 << n) - 1))
        buf, nbits = buf >> n, nbits - n
        entry = dist_table[buf & dist_mask]
        n = entry & 15
        if not n:
            raise r.corrupt("invalid distance code", 8 * pos - nbits)
        buf, nbits, symbol = buf >> n, nbits - n, entry >> 4
        if symbol > 29:
            raise r.corrupt(f"invalid distance symbol {symbol}", 8 * pos - nbits)
        n = DIST_EXTRA[symbol]
        distance = DIST_BASE[symbol] + (buf & ((1 << n) - 1))
        buf, nbits = buf >> n, nbits - n
        if distance > len(out):
            raise r.corrupt(
                f"distance {distance} too far back (output length {len(out)})", 8 * pos - nbits
            )
        start = len(out) - distance
        if length <= distance:
            out += out[start : start + length]
        else:  # the copy overlaps itself: "abc", then 7 bytes from 3 back -> "abcabcabca"
            out += (out[start:] * (length // distance + 1))[:length]
    r.pos, r.buf, r.nbits = pos, buf, nbits


def inflate(data: bytes, max_decoded: int = MAX_DECODED) -> bytes:
    """Decompress raw DEFLATE (RFC 1951), as ``zlib.decompress(data, -15)`` does, to at most
    ``max_decoded`` bytes (:class:`~streamlab.errors.CodecLimitError` past it).

    Examples
    --------
    >>> import zlib
    >>> inflate(zlib.compress(b"to be or not to be", 9)[2:-4])
    b'to be or not to be'
    >>> inflate(zlib.compress(bytes(100_000), 9)[2:-4], max_decoded=99_999)
    Traceback (most recent call last):
    ...
    streamlab.errors.CodecLimitError: huffman: decodes to more than max_decoded=99999 bytes (97.7 KiB); ...
    """
    limit = check_max_decoded(max_decoded)
    r, out, final = BitReader(bytes(data)), bytearray(), 0
    try:
        while not final:  # each block uses >= 3 bits, and the reader stops at the end of the input
            final, block_type = r.bits(1), r.bits(2)
            if block_type == 0:  # stored: to a byte boundary, LEN, NLEN = ~LEN, then LEN bytes
                r.bits(-r.tell() % 8)
                length, nlength = r.bits(16), r.bits(16)
                if length != nlength ^ 0xFFFF:
                    raise CodecError(f"huffman: stored block with LEN={length} but NLEN={nlength}")
                out += r.take_bytes(length)
                if len(out) > limit:
                    raise over_limit("huffman", limit)
            elif block_type == 3:
                raise CodecError(
                    f"huffman: invalid block type 3 (reserved) at bit {r.tell() - 2}; is this raw "
                    "DEFLATE, without a zlib or gzip header?"
                )
            else:
                tables = fixed_tables() if block_type == 1 else read_tree_header(r)
                inflate_codes(r, out, *tables, limit)
    except CodecLimitError:
        raise
    except CodecError as exc:  # reading zeros past the end makes any error; call it truncation
        if r.tell() > 8 * len(r.data):
            raise r.truncated() from exc
        raise
    if r.tell() > 8 * len(r.data):
        raise r.truncated()
    if len(out) > limit:
        raise over_limit("huffman", limit)
    if (extra := len(r.data) - (r.tell() + 7) // 8) > 0:
        raise CodecError(f"huffman: trailing data after the final block ({extra} bytes)")
    return bytes(out)


# -- the codec ---------------------------------------------------------------------------------
class HuffmanCodec(Codec):
    """Dynamic-Huffman DEFLATE without LZ77, a new code every ``block_size`` bytes.

    Examples
    --------
    >>> import zlib
    >>> codec = HuffmanCodec(block_size=1 << 16)
    >>> zlib.decompress(codec.encode(b""), -15), codec.decode(codec.encode(b""))
    (b'', b'')
    >>> HuffmanCodec(block_size=10)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: block_size must be >= 1024, not 10; 64 KiB to 1 MiB work well...
    """

    name = "huffman"
    lossless = True

    def __init__(self, *, block_size: int = 1 << 16) -> None:
        fix = "64 KiB to 1 MiB work well"
        self.block_size = check_number(
            "block_size", block_size, low=1024, high=1 << 24, integer=True, fix=fix
        )

    def encode(self, data: bytes) -> bytes:
        array, out = np.frombuffer(bytes(data), np.uint8), BitWriter()
        for start in range(0, max(len(array), 1), self.block_size):
            final = start + self.block_size >= len(array)
            write_block(out, array[start : start + self.block_size], final)
        return out.getvalue()

    def _decode(self, data: bytes, limit: int) -> bytes:
        return inflate(data, limit)

    @staticmethod
    def code_table(data: bytes) -> pd.DataFrame:
        """The code one block would give ``data``, a row per symbol, most frequent first; the
        entropy and the mean code length, in bits per byte, are in ``attrs``.

        Huffman codes are the best codes that spend a whole number of bits on each symbol: the
        mean length is within 1 bit of the entropy (a little more if the 15-bit limit bites).

        Examples
        --------
        >>> table = HuffmanCodec.code_table(b"abracadabra")
        >>> table
           symbol char  count  length  code
        0      97    a      5       1     0
        1      98    b      2       3   100
        2     114    r      2       3   101
        3      99    c      1       4  1110
        4     100    d      1       4  1111
        5     256  EOB      1       3   110
        >>> round(table.attrs["entropy"], 2), round(table.attrs["mean_length"], 2)
        (2.04, 2.27)
        """
        freqs = np.bincount(np.frombuffer(bytes(data), np.uint8), minlength=286)
        freqs[END_OF_BLOCK] = 1
        lengths = code_lengths(freqs)
        codes = canonical_codes(lengths)
        used = sorted(np.flatnonzero(freqs).tolist(), key=lambda s: (-freqs[s], s))
        chars = ["EOB" if s == 256 else chr(s) if 32 < s < 127 else f"0x{s:02x}" for s in used]
        table = pd.DataFrame({"symbol": used, "char": chars, "count": freqs[used]})
        table["length"] = lengths[used]
        table["code"] = [f"{codes[s]:0{lengths[s]}b}" for s in used]
        p = freqs[:256] / max(1, len(data))
        table.attrs["entropy"] = float(-sum(q * math.log2(q) for q in p if q > 0))
        table.attrs["mean_length"] = float((p * lengths[:256]).sum())
        return table
