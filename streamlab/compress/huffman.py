"""Huffman coding as DEFLATE does it (RFC 1951): a teaching codec whose output zlib reads.

For each block of input:

1. count how often each byte occurs (``np.bincount``);
2. give frequent bytes short codes with :func:`code_lengths` (at most 15 bits, as DEFLATE wants);
3. send only the code lengths: both sides derive the same :func:`canonical_codes` from them;
4. send each byte's code and an end-of-block symbol (:func:`~.deflate_write.write_block`), packed into bytes all
   at once with numpy (:func:`pack_bits`).

The encoder sends literals only, like zlib's ``Z_HUFFMAN_ONLY``. :func:`inflate` reads all of
DEFLATE (stored, fixed and dynamic blocks, LZ77 back-references) with lookup tables.

Building a code (steps 2 and 3) is :mod:`.huffman_code`, writing DEFLATE :mod:`.deflate_write`,
reading it :mod:`.deflate_read`; this module is the codec, and names the steps' functions.

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

import math

import numpy as np
import pandas as pd

from ..core.checks import check_number
from .base import Codec
from .deflate_read import inflate as inflate
from .deflate_write import BitWriter, write_block
from .deflate_write import pack_bits as pack_bits
from .huffman_code import END_OF_BLOCK
from .huffman_code import canonical_codes as canonical_codes
from .huffman_code import code_lengths as code_lengths

__all__ = ["HuffmanCodec", "canonical_codes", "code_lengths", "inflate", "pack_bits"]


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
        self.block_size = int(
            check_number("block_size", block_size, low=1024, high=1 << 24, integer=True, fix=fix)
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
