"""The LZW decoder of Unix ``compress`` (see :mod:`.lzw`): codes back to bytes, rebuilding each
epoch's dictionary as the encoder built it, bounded by ``max_decoded``.

Examples
--------
>>> import numpy as np
>>> expand_codes([np.array([84, 79, 66, 69, 79, 82, 78, 79, 84, 257, 259, 261, 263, 84])], 16, 100)
b'TOBEORNOTTOBEORNOT'
"""

from __future__ import annotations

from array import array

import numpy as np

from .base import CodecError, over_limit
from .lzw_format import CLEAR, FIRST

__all__ = ["expand_codes", "phrase_lengths"]


_LITERALS = [bytes([i]) for i in range(256)] + [b""]  # code 256 (CLEAR) has no string


def expand_codes(epochs: list[np.ndarray], max_bits: int, limit: int) -> bytes:
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


def phrase_lengths(codes: array, max_bits: int) -> list[int]:
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
