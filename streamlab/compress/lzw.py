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

from array import array

import numpy as np
import pandas as pd

from ..core.checks import check_number
from .base import MAX_DECODED, Codec, CodecError, over_limit

__all__ = ["LzwCodec"]

MAGIC = b"\x1f\x9d"
BLOCK_MODE = 0x80  # header flag: code 256 means CLEAR
CLEAR = 256  # "forget the dictionary"
FIRST = 257  # the first code the dictionary hands out
INIT_BITS = 9  # codes start 9 bits wide
HEADER_BITS = 24
CHECK_GAP = 10_000  # compress checks the ratio this often (input bytes) once the dictionary is full


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
        self.max_bits = check_number("max_bits", max_bits, low=9, high=16, integer=True, fix=fix)

    def encode(self, data: bytes) -> bytes:
        """``data`` as a ``.Z`` stream (the same bytes ``compress -b max_bits`` writes, for
        ``max_bits`` 10..16)."""
        codes = _lzw_codes(bytes(data), self.max_bits)
        header = MAGIC + bytes([self.max_bits | BLOCK_MODE])
        return header + _pack(codes, self.max_bits)

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
        max_bits = _read_header(data)
        return _expand(_unpack(data, max_bits), max_bits, limit)

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
        codes = _lzw_codes(bytes(data), self.max_bits)
        c = np.frombuffer(codes, dtype=np.uint16).astype(np.int64)
        j = _index_in_epoch(c)
        is_clear = c == CLEAR
        size = np.where(is_clear, FIRST, np.minimum(FIRST + j, 1 << self.max_bits))
        position = np.cumsum(_phrase_lengths(codes, self.max_bits))
        width, clears = _widths(j, self.max_bits), np.cumsum(is_clear)
        columns = ["position", "dictionary_size", "code_width", "clears"]
        return pd.DataFrame(dict(zip(columns, [position, size, width, clears], strict=True)))


# -- encoding: bytes -> codes -----------------------------------------------------------------
def _lzw_codes(data: bytes, max_bits: int) -> array:
    """The codes ``compress -b max_bits`` writes for ``data``, CLEARs included.

    An *epoch* is the life of one dictionary: it grows, is frozen when full, and ends at a CLEAR
    (with ``max_bits=9``, as soon as it is full: see the module notes).
    """
    codes = array("H")  # every code fits in 16 bits
    if not data:
        return codes
    cap, n = 1 << max_bits, len(data)
    w, pos = data[0], 1  # code of the string matched so far; input bytes consumed
    watch = _RatioWatch(max_bits)
    while pos < n:
        table: dict[int, int] = {}  # prefix code << 8 | next byte -> code of the longer string
        free = FIRST
        while free < cap and pos < n:
            # k input bytes add at most k entries, so this chunk cannot overfill the table
            end = min(n, pos + cap - free)
            w, free = _walk_and_grow(data[pos:end], w, table, free, codes)
            pos = end
        if pos < n and max_bits > INIT_BITS:
            w, pos = _walk_frozen(data, pos, w, table.get, codes, watch)
        if pos < n:
            codes.append(CLEAR)  # w is a single byte here: the first string of the next epoch
            watch.cleared(len(codes))
    codes.append(w)
    return codes


def _walk_and_grow(chunk: bytes, w: int, table: dict, free: int, codes: array) -> tuple[int, int]:
    """The LZW loop: extend the current string while the table knows it; else write its code,
    add "string + byte" to the table and start again from that byte."""
    get, emit = table.get, codes.append  # local names: the hot loop avoids attribute lookups
    for c in chunk:
        key = (w << 8) | c
        longer = get(key)
        if longer is None:
            emit(w)
            table[key] = free
            free += 1
            w = c
        else:
            w = longer
    return w, free


def _walk(chunk: bytes, w: int, get, emit) -> int:
    """The LZW loop on a full (frozen) table: nothing is added."""
    for c in chunk:
        longer = get((w << 8) | c)
        if longer is None:
            emit(w)
            w = c
        else:
            w = longer
    return w


def _walk_frozen(data: bytes, pos: int, w: int, get, codes: array, watch: _RatioWatch):
    """Encode with the full table until the ratio drops (then ``pos < len(data)`` and the caller
    writes CLEAR) or the input ends. The table just filled, so a code was just written."""
    emit, n = codes.append, len(data)
    just_wrote = True
    while True:
        if just_wrote and pos >= watch.checkpoint and watch.dropped(pos, len(codes)):
            return w, pos
        if pos >= n:
            return w, pos
        if pos < watch.checkpoint - 1:  # no check is due before byte `checkpoint`: run freely
            stop = min(n, watch.checkpoint - 1)
            w, pos, just_wrote = _walk(data[pos:stop], w, get, emit), stop, False
        else:  # one byte at a time until the next code is written
            before = len(codes)
            w, pos = _walk(data[pos : pos + 1], w, get, emit), pos + 1
            just_wrote = len(codes) > before


class _RatioWatch:
    """When ``compress`` writes CLEAR. Once the dictionary is full, it computes the ratio so far
    at the first code written after each ``checkpoint`` (every 10,000 input bytes), and clears
    when the ratio is lower than at the previous check. Integer arithmetic as in compress."""

    def __init__(self, max_bits: int) -> None:
        self.max_bits = max_bits
        self.ratio, self.checkpoint = 0, CHECK_GAP
        self.epoch_bits, self.epoch_start = HEADER_BITS, 0  # where this epoch began (bits, codes)

    def dropped(self, bytes_in: int, n_codes: int) -> bool:
        self.checkpoint = bytes_in + CHECK_GAP
        bits = self.epoch_bits + _epoch_bits(n_codes - self.epoch_start, self.max_bits)
        bytes_out = bits >> 3
        if bytes_in > 0x7FFFFF:  # compress avoids overflowing a 32-bit shift
            ratio = bytes_in // (bytes_out >> 8) if bytes_out >> 8 else 0x7FFFFFFF
        else:
            ratio = (bytes_in << 8) // bytes_out  # in 1/256ths
        dropped = ratio < self.ratio
        self.ratio = 0 if dropped else ratio
        return dropped

    def cleared(self, n_codes: int) -> None:
        """A CLEAR is code ``n_codes``: the next epoch starts after it and its padding."""
        j = n_codes - self.epoch_start
        bits = _epoch_bits(j, self.max_bits)
        width = bits - _epoch_bits(j - 1, self.max_bits)  # the CLEAR's own width
        self.epoch_bits += bits + (-j % 8) * width
        self.epoch_start = n_codes


# -- the bit layout ---------------------------------------------------------------------------
def _widths(j: np.ndarray, max_bits: int) -> np.ndarray:
    """Bits of the ``j``-th code (1-based) of an epoch: 9 for codes 1..256, 10 for the next 512,
    11 for the next 1024, ... (the bit length of ``255 + j``, which ``frexp`` gives), at most
    ``max_bits``. The width follows the dictionary, which grows by one entry per code."""
    return np.minimum(max_bits, np.frexp(255.0 + j)[1]).astype(np.int64)


def _epoch_bits(j: int, max_bits: int) -> int:
    """Bits taken by the first ``j`` codes of an epoch."""
    bits, done, width = 0, 0, INIT_BITS
    while width < max_bits and j > (1 << width) - 256:
        last = (1 << width) - 256  # the last code of this width
        bits, done, width = bits + (last - done) * width, last, width + 1
    return bits + (j - done) * width


def _index_in_epoch(codes: np.ndarray) -> np.ndarray:
    """1-based position of each code in its epoch (a CLEAR is the last code of its epoch)."""
    index = np.arange(1, len(codes) + 1)
    starts = np.zeros(len(codes), dtype=np.int64)
    after_clear = np.flatnonzero(codes[:-1] == CLEAR) + 1
    starts[after_clear] = after_clear
    return index - np.maximum.accumulate(starts)


def _pack(codes: array, max_bits: int) -> bytes:
    """Codes -> LSB-first bits, all at once: each code's bit offset is a cumulative sum of the
    widths before it (plus the padding after CLEARs); then each code, shifted by its offset
    modulo 8, is added into the (up to 3) bytes it touches. Codes never share a bit, so adding
    is the same as OR-ing, and ``np.bincount`` adds all codes' first bytes at once, and so on."""
    if not codes:
        return b""
    c = np.frombuffer(codes, dtype=np.uint16).astype(np.int64)
    j = _index_in_epoch(c)
    width = _widths(j, max_bits)
    step = width + np.where(c == CLEAR, (-j % 8) * width, 0)  # CLEAR: pad to a group of 8
    offset = np.cumsum(step) - step
    value = c << (offset & 7)
    byte = offset >> 3
    nbytes = int(offset[-1] + width[-1] + 7) >> 3
    out = np.bincount(byte, weights=value & 255, minlength=nbytes + 2)
    out += np.bincount(byte + 1, weights=(value >> 8) & 255, minlength=nbytes + 2)
    out += np.bincount(byte + 2, weights=value >> 16, minlength=nbytes + 2)
    return out[:nbytes].astype(np.uint8).tobytes()


# -- decoding: bits -> codes -> bytes -----------------------------------------------------------
def _read_header(data: bytes) -> int:
    """Check the 3-byte header; return max_bits."""
    if len(data) < 3:
        raise CodecError(f"lzw: truncated input: {len(data)} bytes, shorter than the 3-byte header")
    if data[:2] != MAGIC:
        raise CodecError(f"lzw: not a .Z stream (it starts with {data[:2].hex(' ')}, not 1f 9d)")
    max_bits = data[2] & 0x1F  # the low five bits
    if not INIT_BITS <= max_bits <= 16:
        raise CodecError(f"lzw: the header says {max_bits} bits per code; .Z allows 9..16")
    if not data[2] & BLOCK_MODE:
        raise CodecError("lzw: block mode is off (pre-1986 compress 2.0 stream); not supported")
    return max_bits


def _unpack(data: bytes, max_bits: int) -> list[np.ndarray]:
    """Bits -> codes, one epoch per array (CLEARs dropped). Within an epoch the widths are known
    in advance, so each run of equal-width codes is read at once with numpy; a CLEAR (found
    with numpy too) ends the run, and the next epoch starts after its padding."""
    buf = np.frombuffer(data + b"\0\0", dtype=np.uint8).astype(np.uint32)
    total = 8 * len(data)
    pos, width, j = HEADER_BITS, INIT_BITS, 0  # j: codes read in this epoch
    chunk = 512  # codes to read at once at max_bits, where only a CLEAR ends the run
    epochs, runs = [], []
    while True:
        last = (1 << width) - 256 if width < max_bits else None  # last code of this width
        count = min((total - pos) // width, chunk if last is None else last - j)
        at = pos + width * np.arange(count)
        b = at >> 3
        run = ((buf[b] | buf[b + 1] << 8 | buf[b + 2] << 16) >> (at & 7)) & ((1 << width) - 1)
        clear = np.flatnonzero(run == CLEAR)
        if clear.size:
            k = int(clear[0]) + 1  # codes read, CLEAR included
            epochs.append(np.concatenate([*runs, run[: k - 1]]))
            runs, pos = [], pos + (k + (-(j + k) % 8)) * width  # skip the group's padding
            if total - pos < INIT_BITS:
                raise CodecError("lzw: truncated input: it ends right after a CLEAR code")
            width, j, chunk = INIT_BITS, 0, 512
            continue
        runs.append(run)
        pos, j = pos + count * width, j + count
        if last is None and count == chunk:
            chunk *= 2  # a long run without CLEAR: read bigger pieces
        elif last is not None and j == last:
            width += 1
        else:
            break  # the input ends
    if total - pos >= 8:
        raise CodecError(f"lzw: truncated input: {total - pos} bits left after the last code")
    epochs.append(np.concatenate(runs))
    return epochs


_LITERALS = [bytes([i]) for i in range(256)] + [b""]  # code 256 (CLEAR) has no string


def _expand(epochs: list[np.ndarray], max_bits: int, limit: int) -> bytes:
    """Codes -> bytes, rebuilding each epoch's dictionary as the encoder built it; at most
    ``limit`` bytes (the growing phase counts as it goes; the frozen phase adds up the
    strings' lengths before joining them)."""
    out: list[bytes] = []
    done = 0  # codes in earlier epochs, CLEARs included (for error messages)
    total = 0  # bytes expanded so far
    for epoch in epochs:
        codes = epoch.tolist()
        if codes:
            table, grown, total = _expand_growing(codes, 1 << max_bits, out, done, total, limit)
            # The table is full now: the rest are plain look-ups, done by map/join at C speed.
            if grown < len(codes):
                strings = list(map(table.__getitem__, codes[grown:]))  # references, no copies
                total += sum(map(len, strings))
                if total > limit:
                    raise over_limit("lzw", limit)
                out.append(b"".join(strings))
        done += len(codes) + 1
    return b"".join(out)


def _expand_growing(
    codes: list[int], cap: int, out: list, done: int, total: int, limit: int
) -> tuple[list, int, int]:
    """Expand codes while each one adds a dictionary entry; return the table, how many
    codes were expanded (all of them, or up to the one that filled the table) and the bytes
    expanded so far (``total`` before; more than ``limit`` raises)."""
    if codes[0] >= 256:
        raise CodecError(
            f"lzw: corrupt input: code {codes[0]} at code #{done + 1} should be a "
            "byte (0..255): it starts the stream or follows a CLEAR"
        )
    table = _LITERALS.copy()
    add = table.append
    prev = table[codes[0]]
    out.append(prev)
    size, grown = FIRST, min(len(codes), cap - FIRST + 1)
    total, start = total + 1, 1
    while start < grown and total <= limit:
        # The i-th code of an epoch stands for at most i + 1 bytes (each new string is an older
        # one plus a byte), so a run of `room // (grown + 1)` codes cannot pass the limit: run
        # that many unchecked, then join and count what they gave (near the limit: one code at
        # a time).
        stop = min(grown, start + max(1, (limit - total) // (grown + 1)))
        strings: list[bytes] = []
        emit = strings.append
        for i in range(start, stop):
            code = codes[i]
            if code < size:
                entry = table[code]
            elif code == size:  # KwKwK: the code being defined right now
                entry = prev + prev[:1]
            else:
                raise CodecError(
                    f"lzw: corrupt input: code {code} at code #{done + i + 1} is beyond"
                    f" the dictionary (next free code {size})"
                )
            emit(entry)
            add(prev + entry[:1])
            size += 1
            prev = entry
        piece = b"".join(strings)
        total += len(piece)
        out.append(piece)
        start = stop
    if total > limit:
        raise over_limit("lzw", limit)
    return table, grown, total


def _phrase_lengths(codes: array, max_bits: int) -> list[int]:
    """How many input bytes each code stands for (0 for CLEAR): a decode that keeps lengths."""
    lengths, cap, prev, sizes = [], 1 << max_bits, 0, [1] * 257
    for code in codes:
        if code == CLEAR:
            sizes, prev, now = [1] * 257, 0, 0
        else:
            now = sizes[code] if code < len(sizes) else prev + 1
            if prev and len(sizes) < cap:
                sizes.append(prev + 1)
            prev = now
        lengths.append(now)
    return lengths
