"""Compression: general-purpose codecs, teaching codecs (Huffman, LZW) that real tools read,
time-series and lossy codecs, and stream steps.

Modules: :mod:`.base` (the :class:`Codec` interface, frames), :mod:`.registry` (codecs by
name), :mod:`.inflate` (bounded decompression); the teaching codecs :mod:`.huffman` (on
:mod:`.huffman_code`, :mod:`.deflate_write`, :mod:`.deflate_read`) and :mod:`.lzw` (on
:mod:`.lzw_encode`, :mod:`.lzw_decode`, :mod:`.lzw_format`); the column codec
:mod:`.timeseries` (on :mod:`.timeseries_columns`, :mod:`.transforms`, :mod:`.bits`,
:mod:`.entropy`); the lossy codecs :mod:`.lossy` (:mod:`.quantize`, :mod:`.deadband`,
:mod:`.swinging_door` on :mod:`.lossy_frame`). Only :mod:`.steps`, the stream nodes, imports
streamz.

Examples
--------
>>> from streamlab.compress import MAX_DECODED, Codec, CodecError, CodecLimitError, codec, codecs
>>> z = codec("zlib")
>>> isinstance(z, Codec), {"zlib", "huffman", "lzw", "timeseries"} <= set(codecs())
(True, True)
>>> z.decode(z.encode(b"abc" * 100)) == b"abc" * 100
True
>>> MAX_DECODED == 256 << 20  # the most bytes one decode gives by default
True
>>> try:
...     z.decode(b"not zlib")
... except CodecError as exc:
...     print(exc)
zlib: corrupt or truncated input (Error -3 while decompressing data: incorrect header check)
>>> try:
...     z.decode(z.encode(bytes(5000)), max_decoded=1000)
... except CodecLimitError as exc:
...     print(str(exc)[:46])
zlib: decodes to more than max_decoded=1000 by
"""

from . import steps  # noqa: F401  (registers stream.compress, .decompress, .compare)
from .base import MAX_DECODED as MAX_DECODED
from .base import Codec as Codec
from .base import CodecError as CodecError
from .base import CodecLimitError as CodecLimitError
from .registry import codec as codec
from .registry import codecs as codecs

__all__ = ["MAX_DECODED", "Codec", "CodecError", "CodecLimitError", "codec", "codecs"]
