"""The LZW encoder of Unix ``compress`` (see :mod:`.lzw`): bytes to the codes it writes, with
its dictionary walk and its rule for when to write CLEAR. The codes become bits in
:mod:`.lzw_format`.

Examples
--------
>>> lzw_codes(b"TOBEORNOT" * 2, 16).tolist()
[84, 79, 66, 69, 79, 82, 78, 79, 84, 257, 259, 261, 263, 84]
"""

from __future__ import annotations

from array import array

from .lzw_format import CLEAR, FIRST, HEADER_BITS, INIT_BITS, epoch_code_bits

__all__ = ["lzw_codes"]

CHECK_GAP = 10_000  # compress checks the ratio this often (input bytes) once the dictionary is full


def lzw_codes(data: bytes, max_bits: int) -> array:
    """The codes ``compress -b max_bits`` writes for ``data``, CLEARs included.

    An *epoch* is the life of one dictionary: it grows, is frozen when full, and ends at a CLEAR
    (with ``max_bits=9``, as soon as it is full: see the notes in :mod:`.lzw`).
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
        bits = self.epoch_bits + epoch_code_bits(n_codes - self.epoch_start, self.max_bits)
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
        bits = epoch_code_bits(j, self.max_bits)
        width = bits - epoch_code_bits(j - 1, self.max_bits)  # the CLEAR's own width
        self.epoch_bits += bits + (-j % 8) * width
        self.epoch_start = n_codes
