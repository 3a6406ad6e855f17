"""Compression: general-purpose codecs, teaching codecs (Huffman, LZW) that real tools read,
time-series and lossy codecs, and stream steps.

Examples
--------
>>> from streamlab.compress import codec
>>> z = codec("zlib")
>>> z.decode(z.encode(b"abc" * 100)) == b"abc" * 100
True
"""

from . import steps  # noqa: F401  (registers stream.compress, .decompress, .compare)
from .base import MAX_DECODED as MAX_DECODED
from .base import Codec as Codec
from .base import CodecError as CodecError
from .base import CodecLimitError as CodecLimitError
from .registry import codec as codec
from .registry import codecs as codecs

__all__ = ["MAX_DECODED", "Codec", "CodecError", "CodecLimitError", "codec", "codecs"]
