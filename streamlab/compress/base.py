"""One interface for every codec: bytes in, bytes out, and DataFrame frames in and out.

A codec is a small object with ``name``, ``lossless``, ``encode(bytes) -> bytes`` and
``decode(bytes) -> bytes``, and ``encode_frame(df) -> bytes`` / ``decode_frame(bytes) -> df``
for batches. A byte codec frames a batch as Arrow IPC (every dtype the batch contract allows,
bit-exact) and compresses those bytes; a column-aware codec (time series, lossy) overrides
the frame methods. Corrupt or truncated input raises :class:`CodecError` naming the codec.

Examples
--------
>>> import zlib, pandas as pd
>>> c = ByteCodec("zlib", zlib.compress, zlib.decompress)
>>> df = pd.DataFrame({"t": pd.to_datetime([1, 2], unit="s", utc=True), "x": [1.5, None]})
>>> c.decode_frame(c.encode_frame(df)).equals(df)
True
>>> c.decode_frame(b"SLF1" + c.encode_frame(df)[4:-3])
Traceback (most recent call last):
...
streamlab.compress.base.CodecError: zlib: corrupt or truncated input (Error -5 while decompressing data: incomplete or truncated stream)
"""

from __future__ import annotations

import io
import struct

import pandas as pd
import pyarrow as pa

from ..errors import StreamlabError

__all__ = ["MAGIC", "ByteCodec", "Codec", "CodecError", "bytes_to_frame", "frame_to_bytes"]

MAGIC = b"SLF1"  # every frame starts with it, then a 1-byte codec-name length and the name
_HEADER = struct.Struct(">4sB")


class CodecError(StreamlabError, ValueError):
    """Bytes that this codec cannot decode (corrupt, truncated, or another codec's)."""


def frame_to_bytes(df: pd.DataFrame) -> bytes:
    """A batch as Arrow IPC stream bytes (dtypes, time zones and ``attrs`` kept)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def bytes_to_frame(data: bytes) -> pd.DataFrame:
    """The inverse of :func:`frame_to_bytes`."""
    with pa.ipc.open_stream(data) as reader:
        table = reader.read_all()
    return table.to_pandas()


def read_header(data: bytes, reader: str = "auto") -> tuple[str, int]:
    """A frame's codec name and where its payload starts (``CodecError`` if it is not a
    streamlab frame; ``reader`` names who was reading, for the message)."""
    if len(data) < _HEADER.size or data[:4] != MAGIC:
        raise CodecError(
            f"{reader}: not a streamlab frame (it does not start with {MAGIC!r}; {len(data)} bytes)"
        )
    _, n = _HEADER.unpack_from(data)
    return data[_HEADER.size : _HEADER.size + n].decode("ascii", "replace"), _HEADER.size + n


class Codec:
    """Base class. Subclasses set ``name`` and ``lossless`` and implement the byte methods;
    column-aware codecs override ``_encode_frame``/``_decode_frame`` too."""

    name = ""
    lossless = True

    def encode(self, data: bytes) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> bytes:
        raise NotImplementedError

    # -- frames -------------------------------------------------------------------------------
    def encode_frame(self, df: pd.DataFrame) -> bytes:
        """A self-describing frame: ``SLF1``, the codec's name, then its payload."""
        name = self.name.encode()
        return _HEADER.pack(MAGIC, len(name)) + name + self._encode_frame(df)

    def decode_frame(self, data: bytes) -> pd.DataFrame:
        name, start = read_header(data, self.name)
        if name != self.name:
            raise CodecError(
                f"{self.name}: this frame was written by codec {name!r}; decode it "
                f"with codec({name!r})"
            )
        try:
            return self._decode_frame(data[start:])
        except CodecError:
            raise
        except Exception as exc:  # a codec library's own error on corrupt input
            raise CodecError(f"{self.name}: corrupt or truncated frame ({exc})") from exc

    def _encode_frame(self, df: pd.DataFrame) -> bytes:
        return self.encode(frame_to_bytes(df))

    def _decode_frame(self, payload: bytes) -> pd.DataFrame:
        return bytes_to_frame(self.decode(payload))

    def __repr__(self) -> str:
        return f"codec({self.name!r})"


class ByteCodec(Codec):
    """A general-purpose codec wrapping a compress/decompress pair."""

    def __init__(self, name: str, compress, decompress, errors=(Exception,)) -> None:
        self.name = name
        self._compress, self._decompress, self._errors = compress, decompress, errors

    def encode(self, data: bytes) -> bytes:
        return self._compress(bytes(data))

    def decode(self, data: bytes) -> bytes:
        try:
            return self._decompress(bytes(data))
        except self._errors as exc:
            raise CodecError(f"{self.name}: corrupt or truncated input ({exc})") from exc
