"""LZW as Unix ``compress`` writes it: the ``.Z`` format, readable by ``uncompress``.

How LZW works
-------------
Encoder and decoder grow the same dictionary of byte strings as they go, so it is never sent.
It starts with the 256 single bytes. The encoder reads the longest string it already knows,
writes that string's code, and adds "that string + the next byte" as a new code (257, 258, ...).
The decoder, one step behind, builds each entry from the previous string plus the first byte
of the current one; a code it has not built yet can only be "previous string + its own first
byte" (the *KwKwK* case).

The ``.Z`` container
--------------------
* 3 header bytes: ``1f 9d``, then ``max_bits | 0x80`` (0x80 = block mode: code 256 is CLEAR).
* Codes are packed LSB-first. They start 9 bits wide and get one bit wider each time the
  dictionary outgrows the width, up to ``max_bits``. The 256 codes of 9 bits are followed by
  512 of 10 bits, 1024 of 11 bits, and so on.
* A full dictionary is frozen. ``compress`` then checks the ratio every 10,000 input bytes;
  when it drops, it writes CLEAR (256) and both sides restart with 257 entries and 9-bit codes.
* An odd detail: ``compress`` moves bits in groups of 8 codes (8 codes of n bits = n bytes). After
  a CLEAR the rest of the group is padding: the next code starts a multiple of n bytes after
  the first code of that width. Encoder and decoder must both skip it.

Speed: the encoder's dictionary walk is a tight loop over a dict keyed by ``prefix << 8 | byte``
(LZW is sequential). Codes become bits, and bits codes, for all codes at once with numpy.

With ``-b 9`` tools disagree once the dictionary is full and no CLEAR follows: gzip and ncompress
<= 4.1 widen codes to 10 bits, ncompress 5 keeps 9 (we read it so), and ncompress 4.2 writes
code 512 in 9 bits, which nobody can read back. Our encoder clears at that point, so all agree.

The encoder is :mod:`.lzw_encode`, the decoder :mod:`.lzw_decode`, the ``.Z`` container (header
and bit layout) :mod:`.lzw_format`; this module is the codec.

Examples
--------
>>> codec = LzwCodec()
>>> packed = codec.encode(b"TOBEORNOTTOBEORTOBEORNOT")
>>> packed[:3].hex(), len(packed)
('1f9d90', 21)
>>> codec.decode(packed)
b'TOBEORNOTTOBEORTOBEORNOT'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.checks import check_number
from .base import MAX_DECODED, Codec
from .lzw_decode import expand_codes, phrase_lengths
from .lzw_encode import lzw_codes
from .lzw_format import (
    BLOCK_MODE,
    CLEAR,
    FIRST,
    MAGIC,
    code_widths,
    index_in_epoch,
    pack_codes,
    read_z_header,
    unpack_codes,
)

__all__ = ["LzwCodec"]


class LzwCodec(Codec):
    """The Unix ``compress`` codec (``.Z``): ``encode`` output is read by ``uncompress`` and
    ``gzip -d``; ``decode`` reads what ``compress -b 9..16`` writes.

    ``max_bits`` (9..16) caps the code width, hence the dictionary size (2**max_bits codes).

    Examples
    --------
    >>> codec = LzwCodec(max_bits=12)
    >>> text = b"sensor-7,0.5\\n" * 1000
    >>> packed = codec.encode(text)
    >>> len(text), len(packed), codec.decode(packed) == text
    (13000, 690, True)
    >>> LzwCodec(max_bits=20)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: max_bits must be <= 16, not 20; the .Z format allows 9..16 bits per code...
    """

    name = "lzw"
    lossless = True

    def __init__(self, *, max_bits: int = 16) -> None:
        fix = "the .Z format allows 9..16 bits per code"
        self.max_bits = int(
            check_number("max_bits", max_bits, low=9, high=16, integer=True, fix=fix)
        )

    def encode(self, data: bytes) -> bytes:
        """``data`` as a ``.Z`` stream (the same bytes ``compress -b max_bits`` writes, for
        ``max_bits`` 10..16)."""
        codes = lzw_codes(bytes(data), self.max_bits)
        header = MAGIC + bytes([self.max_bits | BLOCK_MODE])
        return header + pack_codes(codes, self.max_bits)

    def decode(self, data: bytes, *, max_decoded: int = MAX_DECODED) -> bytes:
        """The bytes a ``.Z`` stream holds; :class:`CodecError` if it is corrupt or truncated,
        :class:`CodecLimitError` if they would be more than ``max_decoded`` (a few kilobytes
        of LZW codes can stand for gigabytes: the decoder counts as it expands).

        Examples
        --------
        >>> LzwCodec().decode(b"PK\\x03\\x04")
        Traceback (most recent call last):
        ...
        streamlab.errors.CodecError: lzw: not a .Z stream (it starts with 50 4b, not 1f 9d)
        >>> LzwCodec().decode(LzwCodec().encode(b"a" * 5000), max_decoded=4999)
        Traceback (most recent call last):
        ...
        streamlab.errors.CodecLimitError: lzw: decodes to more than max_decoded=4999 bytes (4.88 KiB); ...
        """
        return super().decode(data, max_decoded=max_decoded)

    def _decode(self, data: bytes, limit: int) -> bytes:
        data = bytes(data)
        max_bits = read_z_header(data)
        return expand_codes(unpack_codes(data, max_bits), max_bits, limit)

    def dictionary_growth(self, data: bytes) -> pd.DataFrame:
        """One row per code written when encoding ``data``: ``position`` (input bytes encoded
        so far), ``dictionary_size`` (the next free code), ``code_width`` (bits) and ``clears``
        (CLEARs so far). Plot ``dictionary_size`` against ``position`` to see it fill and reset.

        Examples
        --------
        >>> growth = LzwCodec(max_bits=10).dictionary_growth(bytes(range(256)) * 40)
        >>> growth.iloc[[0, 255, 256, 766, -1]]
              position  dictionary_size  code_width  clears
        0            1              258           9       0
        255        256              513           9       0
        256        258              514          10       0
        766       1533             1024          10       0
        2943     10240             1024          10       0
        """
        codes = lzw_codes(bytes(data), self.max_bits)
        c = np.frombuffer(codes, dtype=np.uint16).astype(np.int64)
        j = index_in_epoch(c)
        is_clear = c == CLEAR
        size = np.where(is_clear, FIRST, np.minimum(FIRST + j, 1 << self.max_bits))
        position = np.cumsum(np.asarray(phrase_lengths(codes, self.max_bits), dtype=np.int64))
        width, clears = code_widths(j, self.max_bits), np.cumsum(is_clear)
        columns = ["position", "dictionary_size", "code_width", "clears"]
        return pd.DataFrame(dict(zip(columns, [position, size, width, clears], strict=True)))
