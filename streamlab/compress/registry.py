"""Codecs by name: ``codec("zstd")``, ``codecs()``."""

from __future__ import annotations

import bz2
import importlib
import importlib.util
import lzma
import zlib

import pandas as pd

from ..core.checks import check_choice, check_number
from ..errors import CodecError, ConfigError
from .base import MAX_DECODED, ByteCodec, Codec, read_header
from .inflate import inflate_bz2, inflate_lz4, inflate_lzma, inflate_zlib, inflate_zstd

__all__ = ["AutoCodec", "codec", "codecs", "lossless_codecs"]

#: name -> "module:factory" for codecs that live in their own module (loaded on first use)
KNOWN: dict[str, str] = {
    "huffman": "streamlab.compress.huffman:HuffmanCodec",
    "lzw": "streamlab.compress.lzw:LzwCodec",
    "timeseries": "streamlab.compress.timeseries:TimeSeriesCodec",
    "quantize": "streamlab.compress.quantize:QuantizeCodec",
    "deadband": "streamlab.compress.deadband:DeadbandCodec",
    "swinging_door": "streamlab.compress.swinging_door:SwingingDoorCodec",
}
_STDLIB = ("zlib", "bz2", "lzma")
_OPTIONAL = {"zstd": "zstandard", "lz4": "lz4"}


#: each general codec's compression levels (what its library accepts)
_LEVELS = {"zlib": (0, 9, 6), "bz2": (1, 9, 9), "lzma": (0, 9, 6), "zstd": (-7, 22, 3)}


def _level(name: str, params: dict) -> int:
    """The ``level`` asked for (a plain int: numpy ints too), checked against the codec's."""
    low, high, default = _LEVELS[name]
    unknown = sorted(set(params) - {"level"})
    if unknown:
        raise ConfigError(f"codec {name!r} takes only level=, not {unknown}")
    return int(
        check_number(
            "level", params.get("level", default), low=low, high=high, integer=True, example=default
        )
    )


def _zlib(level: int = 6) -> Codec:
    return ByteCodec(
        "zlib" if level == 6 else f"zlib-{level}",
        lambda b: zlib.compress(b, level),
        inflate_zlib,
        (zlib.error,),
    )


def _builtin(name: str, **params) -> Codec:
    if name not in _LEVELS:  # lz4: no level
        import lz4.frame

        return ByteCodec(
            "lz4", lambda b: lz4.frame.compress(b), inflate_lz4, (RuntimeError, ValueError)
        )
    level = _level(name, params)
    if name == "zlib":
        return _zlib(level)
    if name == "bz2":
        return ByteCodec(
            "bz2",
            lambda b: bz2.compress(b, level),
            inflate_bz2,
            (OSError, ValueError, EOFError),
        )
    if name == "lzma":
        return ByteCodec(
            "lzma",
            lambda b: lzma.compress(b, preset=level),
            inflate_lzma,
            (lzma.LZMAError, EOFError),
        )
    import zstandard  # the last of _LEVELS

    comp = zstandard.ZstdCompressor(level=level)
    dec = zstandard.ZstdDecompressor()
    return ByteCodec(
        "zstd" if level == 3 else f"zstd-{level}",
        comp.compress,
        lambda b, limit, name: inflate_zstd(b, limit, name, dec),
        (zstandard.ZstdError,),
    )


def codecs() -> list[str]:
    """The codecs available here (optional ones only when their package is installed).

    Examples
    --------
    >>> {"zlib", "bz2", "lzma", "huffman", "lzw"} <= set(codecs())
    True
    """
    names = list(_STDLIB)
    for name, module in _OPTIONAL.items():
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names + list(KNOWN)


def codec(name: str, **params) -> Codec:
    """A codec by name; parameters go to it (``codec("zstd", level=19)``).

    Examples
    --------
    >>> c = codec("zlib")
    >>> c.decode(c.encode(b"hello hello hello")) == b"hello hello hello"
    True
    >>> codec("zsdt")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: codec='zsdt' is not one of ... Did you mean 'zstd'?
    """
    if isinstance(name, Codec):
        return name
    if name in _OPTIONAL and importlib.util.find_spec(_OPTIONAL[name]) is None:
        raise ConfigError(
            f"codec {name!r} needs the {_OPTIONAL[name]!r} package: pip install 'streamlab[codecs]'"
        )
    check_choice("codec", name, [*_STDLIB, *_OPTIONAL, *KNOWN])
    if name in KNOWN:
        return _factory(name)(**params)
    return _builtin(name, **params)


def _factory(name: str):
    module, factory = KNOWN[name].split(":")
    return getattr(importlib.import_module(module), factory)


def lossless_codecs() -> list[str]:
    """The available codecs that give the bytes back exactly (the codec classes say so;
    nothing is built). The byte codecs all are; the column codecs declare ``lossless``.

    Examples
    --------
    >>> "zlib" in lossless_codecs() and "quantize" not in lossless_codecs()
    True
    """
    return [n for n in codecs() if n not in KNOWN or _factory(n).lossless]


class AutoCodec:
    """Decodes a frame with the codec its header names (level suffixes such as ``-19`` do
    not matter for decoding): what ``stream.decompress("auto")`` reads with.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 2]})
    >>> auto = AutoCodec()
    >>> [auto.decode_frame(codec(n, level=1).encode_frame(df)).equals(df) for n in ("zlib", "bz2")]
    [True, True]
    """

    name = "auto"

    def __init__(self) -> None:
        self._by_name: dict = {}

    def decode_frame(self, data: bytes, *, max_decoded: int = MAX_DECODED) -> pd.DataFrame:
        """The batch ``data`` holds, read with the codec its header names."""
        name, _ = read_header(data)
        if name not in self._by_name:
            base = name.rsplit("-", 1)[0] if "-" in name else name
            if base not in lossless_codecs():
                raise CodecError(
                    f"auto: the frame names codec {name!r}, which is not a lossless codec "
                    f"known here ({', '.join(lossless_codecs())})"
                )
            c = codec(base)
            c.name = name  # the frame's own name, as its header says
            self._by_name[name] = c
        return self._by_name[name].decode_frame(data, max_decoded=max_decoded)
