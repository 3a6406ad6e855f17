"""The ``.Z`` container of Unix ``compress`` (see :mod:`.lzw`): its 3-byte header and the bit
layout of its codes (LSB first, 9 to ``max_bits`` wide, padded to a group of 8 after a CLEAR),
codes to bits and bits to codes for all codes at once with numpy.

Examples
--------
>>> from array import array
>>> packed = pack_codes(array("H", [84, 79, 256, 66]), 16)
>>> [run.tolist() for run in unpack_codes(MAGIC + bytes([16 | BLOCK_MODE]) + packed, 16)]
[[84, 79], [66]]
"""

from __future__ import annotations

from array import array

import numpy as np

from .base import CodecError

__all__ = [
    "BLOCK_MODE",
    "CLEAR",
    "FIRST",
    "HEADER_BITS",
    "INIT_BITS",
    "MAGIC",
    "code_widths",
    "epoch_code_bits",
    "index_in_epoch",
    "pack_codes",
    "read_z_header",
    "unpack_codes",
]

MAGIC = b"\x1f\x9d"
BLOCK_MODE = 0x80  # header flag: code 256 means CLEAR
CLEAR = 256  # "forget the dictionary"
FIRST = 257  # the first code the dictionary hands out
INIT_BITS = 9  # codes start 9 bits wide
HEADER_BITS = 24


def code_widths(j: np.ndarray, max_bits: int) -> np.ndarray:
    """Bits of the ``j``-th code (1-based) of an epoch: 9 for codes 1..256, 10 for the next 512,
    11 for the next 1024, ... (the bit length of ``255 + j``, which ``frexp`` gives), at most
    ``max_bits``. The width follows the dictionary, which grows by one entry per code."""
    return np.minimum(max_bits, np.frexp(255.0 + j)[1]).astype(np.int64)


def epoch_code_bits(j: int, max_bits: int) -> int:
    """Bits taken by the first ``j`` codes of an epoch."""
    bits, done, width = 0, 0, INIT_BITS
    while width < max_bits and j > (1 << width) - 256:
        last = (1 << width) - 256  # the last code of this width
        bits, done, width = bits + (last - done) * width, last, width + 1
    return bits + (j - done) * width


def index_in_epoch(codes: np.ndarray) -> np.ndarray:
    """1-based position of each code in its epoch (a CLEAR is the last code of its epoch)."""
    index = np.arange(1, len(codes) + 1)
    starts = np.zeros(len(codes), dtype=np.int64)
    after_clear = np.flatnonzero(codes[:-1] == CLEAR) + 1
    starts[after_clear] = after_clear
    return index - np.maximum.accumulate(starts)


def pack_codes(codes: array, max_bits: int) -> bytes:
    """Codes -> LSB-first bits, all at once: each code's bit offset is a cumulative sum of the
    widths before it (plus the padding after CLEARs); then each code, shifted by its offset
    modulo 8, is added into the (up to 3) bytes it touches. Codes never share a bit, so adding
    is the same as OR-ing, and ``np.bincount`` adds all codes' first bytes at once, and so on."""
    if not codes:
        return b""
    c = np.frombuffer(codes, dtype=np.uint16).astype(np.int64)
    j = index_in_epoch(c)
    width = code_widths(j, max_bits)
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
def read_z_header(data: bytes) -> int:
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


def unpack_codes(data: bytes, max_bits: int) -> list[np.ndarray]:
    """Bits -> codes, one epoch per array (CLEARs dropped). Within an epoch the widths are known
    in advance, so each run of equal-width codes is read at once with numpy; a CLEAR (found
    with numpy too) ends the run, and the next epoch starts after its padding."""
    buf = np.frombuffer(data + b"\0\0", dtype=np.uint8).astype(np.uint32)
    total = 8 * len(data)
    pos, width, j = HEADER_BITS, INIT_BITS, 0  # j: codes read in this epoch
    chunk = 512  # codes to read at once at max_bits, where only a CLEAR ends the run
    epochs: list[np.ndarray] = []
    runs: list[np.ndarray] = []
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
