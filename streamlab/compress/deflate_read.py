"""Reading DEFLATE (RFC 1951): all of it (stored, fixed and dynamic blocks, LZ77
back-references), with lookup tables, bounded by ``max_decoded``. What
:class:`~streamlab.compress.huffman.HuffmanCodec` decodes with; ``zlib.decompress(data, -15)``
is its reference.

Examples
--------
>>> import zlib
>>> inflate(zlib.compress(b"to be or not to be", 9)[2:-4])
b'to be or not to be'
"""

from __future__ import annotations

import functools
import itertools

from .base import MAX_DECODED, CodecError, CodecLimitError, check_max_decoded, over_limit
from .huffman_code import CL_ORDER, END_OF_BLOCK, decode_table

__all__ = ["inflate"]

#: length symbols 257..285 and distance symbols 0..29 (RFC 1951 3.2.5) each stand for a range of
#: lengths or distances starting at BASE; the EXTRA bits after the code pick one of them
LENGTH_EXTRA = (0,) * 8 + tuple(k // 4 for k in range(4, 24)) + (0,)  # 0 0 .. 1 1 1 1 .. 5 0
LENGTH_BASE = (*itertools.accumulate(LENGTH_EXTRA[:-2], lambda b, e: b + (1 << e), initial=3), 258)
DIST_EXTRA = (0, 0, *(k // 2 for k in range(28)))  # 0 0 0 0 1 1 2 2 .. 13 13
DIST_BASE = tuple(itertools.accumulate(DIST_EXTRA[:-1], lambda b, e: b + (1 << e), initial=1))


#: a decode table and the bits it reads (see :func:`~.huffman_code.decode_table`)
Table = tuple[list[int], int]


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
def fixed_tables() -> tuple[Table, Table]:
    """The fixed codes of BTYPE=1 blocks (RFC 1951 3.2.6), as decode tables."""
    lit = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
    return decode_table(lit, "literal/length"), decode_table([5] * 32, "distance")


def read_tree_header(r: BitReader) -> tuple[Table, Table]:
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


def inflate_codes(r: BitReader, out: bytearray, lit: Table, dist: Table, limit: int) -> None:
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
