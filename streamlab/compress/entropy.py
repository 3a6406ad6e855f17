"""The entropy stage of the column codecs: zstd (zlib when ``zstandard`` is missing), zlib or
none, over the bytes :mod:`.bits` packs; decompression bounded by ``max_decoded``.

Examples
--------
>>> Entropy("zlib").decompress(Entropy("zlib").compress(b"abc" * 100), 300) == b"abc" * 100
True
"""

from __future__ import annotations

import importlib.util
import zlib
from typing import Any

from ..core.checks import check_choice, check_number
from ..errors import ConfigError
from .base import over_limit
from .inflate import inflate_zlib, inflate_zstd

__all__ = ["Entropy"]

_ENTROPY_IDS = {"none": 0, "zlib": 1, "zstd": 2}


class Entropy:
    """The entropy stage: zstd (default; zlib when ``zstandard`` is not installed), zlib or none.

    Each stream starts with one byte: 0 stored as is (when compressing would not make it
    smaller), 1 compressed.

    Examples
    --------
    >>> e = Entropy("zstd", level=3)
    >>> blob = e.compress(bytes(1000))
    >>> len(blob) < 100, e.decompress(blob, limit=1000) == bytes(1000)
    (True, True)
    >>> e.decompress(blob, limit=999, name="timeseries")
    Traceback (most recent call last):
    ...
    streamlab.errors.CodecLimitError: timeseries: declares 1000 decoded bytes (1000 B), more than max_decoded=999 (999 B); ...
    >>> Entropy("zip")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: entropy='zip' is not one of 'zstd', 'zlib', 'none'. Did you mean 'zlib'?
    """

    def __init__(self, name: str = "zstd", *, level: int | None = None) -> None:
        check_choice("entropy", name, ["zstd", "zlib", "none"])
        if name == "zstd" and importlib.util.find_spec("zstandard") is None:
            name = "zlib"  # documented fallback: the codecs extra is optional
        if level is not None:
            level = int(check_number("level", level, low=-7, high=22, integer=True))
        self.name = name
        self.id = _ENTROPY_IDS[name]
        self.level = (3 if name == "zstd" else 1) if level is None else level
        self._zc: Any = None  # zstandard's compressor and decompressor, made on first use
        self._zd: Any = None

    @classmethod
    def from_id(cls, ident: int) -> Entropy:
        names = {v: k for k, v in _ENTROPY_IDS.items()}
        if ident not in names:
            raise ValueError(f"unknown entropy stage {ident}")
        if names[ident] == "zstd" and importlib.util.find_spec("zstandard") is None:
            raise ConfigError(
                "this frame was compressed with zstd; pip install 'streamlab[codecs]'"
            )
        return cls(names[ident])

    def _raw(self, data: bytes) -> bytes:
        if self.name == "zlib":
            return zlib.compress(data, self.level)
        if self._zc is None:
            import zstandard

            self._zc = zstandard.ZstdCompressor(level=self.level)
        return self._zc.compress(data)

    def compress(self, data: bytes) -> bytes:
        if self.name != "none" and len(data) > 16:
            packed = self._raw(data)
            if len(packed) < len(data):
                return b"\x01" + packed
        return b"\x00" + bytes(data)

    def decompress(self, data: bytes, limit: int, name: str = "entropy") -> bytes:
        """The stream's bytes; at most ``limit`` of them (``CodecLimitError`` naming ``name``
        past it: the inflater stops there)."""
        data = bytes(data)
        if data[:1] == b"\x00":
            if len(data) - 1 > limit:
                raise over_limit(name, limit)
            return data[1:]
        if data[:1] != b"\x01":
            raise ValueError("entropy stream: bad flag byte")
        if self.name == "zlib":
            return inflate_zlib(data[1:], limit, name)
        if self.name == "none":
            raise ValueError("entropy stream: compressed data in a frame without an entropy stage")
        if self._zd is None:
            import zstandard

            self._zd = zstandard.ZstdDecompressor()
        return inflate_zstd(data[1:], limit, name, self._zd)
