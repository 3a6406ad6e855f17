"""One interface for every codec: bytes in, bytes out, and DataFrame frames in and out.

A codec is a small object with ``name``, ``lossless``, ``encode(bytes) -> bytes`` and
``decode(bytes) -> bytes``, and ``encode_frame(df) -> bytes`` / ``decode_frame(bytes) -> df``
for batches. A byte codec frames a batch as Arrow IPC (every dtype the batch contract allows,
bit-exact) and compresses those bytes; a column-aware codec (time series, lossy) overrides
the frame methods. Corrupt or truncated input raises :class:`CodecError` naming the codec.

Decoding is bounded: ``decode`` and ``decode_frame`` take ``max_decoded`` (bytes; default
:data:`MAX_DECODED`, 256 MiB), and every decoder stops at it while it decodes (streaming
decompressors with a maximum output length, or a check of a size the input declares before
anything that size is allocated), raising :class:`CodecLimitError`. A 1 MB frame that claims
to inflate to 1 GiB costs at most about ``max_decoded`` of memory, never what it claims.

Why 256 MiB: it is four times the largest frame a TCP source accepts (64 MiB compressed), and
about three times the largest batch the sources make by default (100,000 rows of 100 float
columns: 80 MB), so real batches pass; and it is an eighth of a Binder or classroom kernel's
2 GiB, so a bomb cannot take the kernel down. Raise it per call when batches are bigger.

Examples
--------
>>> import pandas as pd
>>> from streamlab.compress.inflate import inflate_zlib
>>> import zlib
>>> c = ByteCodec("zlib", zlib.compress, inflate_zlib)
>>> df = pd.DataFrame({"t": pd.to_datetime([1, 2], unit="s", utc=True), "x": [1.5, None]})
>>> c.decode_frame(c.encode_frame(df)).equals(df)
True
>>> c.decode_frame(b"SLF1" + c.encode_frame(df)[4:-3])
Traceback (most recent call last):
...
streamlab.errors.CodecError: zlib: corrupt or truncated input (Error -5 while decompressing data: incomplete or truncated stream)
>>> c.decode(c.encode(bytes(10_000)), max_decoded=1000)
Traceback (most recent call last):
...
streamlab.errors.CodecLimitError: zlib: decodes to more than max_decoded=1000 bytes (1000 B); refused as a possible decompression bomb. If such data is expected, pass a larger max_decoded= (e.g. max_decoded=2000) to decode()/decode_frame(), stream.decompress() or from_tcp()/listen_tcp()
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from ..core.checks import check_number
from ..errors import CodecError, CodecLimitError
from .ipc import inspect_ipc

__all__ = [
    "MAGIC",
    "MAX_DECODED",
    "ByteCodec",
    "Codec",
    "CodecError",
    "CodecLimitError",
    "bytes_to_frame",
    "check_max_decoded",
    "frame_to_bytes",
    "join_blobs",
    "over_limit",
    "read_header",
    "split_blobs",
]

MAGIC = b"SLF1"  # every frame starts with it, then a 1-byte codec-name length and the name
_HEADER = struct.Struct(">4sB")
#: the default most bytes one decode may produce (see the module docstring for why)
MAX_DECODED = 256 << 20


def check_max_decoded(value) -> int:
    """``max_decoded`` checked like every parameter: an integer number of bytes, at least 1.

    Examples
    --------
    >>> check_max_decoded(1 << 20)
    1048576
    >>> check_max_decoded("1GB")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: max_decoded must be an integer, not '1GB'; give bytes, e.g. max_decoded=1 << 30 for 1 GiB
    """
    if type(value) is int and value >= 1:  # the common case, checked once per frame
        return value
    fix = "give bytes, e.g. max_decoded=1 << 30 for 1 GiB"
    return int(check_number("max_decoded", value, low=1, integer=True, fix=fix))


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} B"


def over_limit(name: str, limit: int, declared: int | None = None) -> CodecLimitError:
    """The error for data that decodes (or says it decodes) to more than ``limit`` bytes."""
    what = (
        f"decodes to more than max_decoded={limit} bytes ({_size(limit)})"
        if declared is None
        else f"declares {declared} decoded bytes ({_size(declared)}), more than "
        f"max_decoded={limit} ({_size(limit)})"
    )
    return CodecLimitError(
        f"{name}: {what}; refused as a possible decompression bomb. If such data is expected, "
        f"pass a larger max_decoded= (e.g. max_decoded={max(2 * limit, declared or 0)}) to "
        "decode()/decode_frame(), stream.decompress() or from_tcp()/listen_tcp()"
    )


def frame_to_bytes(df: pd.DataFrame) -> bytes:
    """A batch as Arrow IPC stream bytes (dtypes, time zones and ``attrs`` kept)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = table.schema.metadata or {}
    if df.attrs and "attributes" not in json.loads(meta.get(b"pandas", b"{}")):
        # pyarrow/pandas before they kept attrs themselves: keep them under our own key
        table = table.replace_schema_metadata({**meta, _ATTRS: json.dumps(df.attrs).encode()})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def bytes_to_frame(
    data: bytes, max_decoded: int = MAX_DECODED, name: str = "arrow"
) -> pd.DataFrame:
    """The inverse of :func:`frame_to_bytes`. What the stream declares (rows of every column,
    8 bytes each once in pandas, and the sizes of compressed buffers) is checked against
    ``max_decoded`` before anything is read; ``name`` is the codec, for the message."""
    declared, view = inspect_ipc(data)
    if view is not None:
        raise CodecError(
            f"{name}: the frame holds a {view} column, whose decoded size it does not "
            "declare; frames of batches never do (write such columns as plain types)"
        )
    if declared > max_decoded:
        raise over_limit(name, max_decoded, declared)
    with pa.ipc.open_stream(data) as reader:
        table = reader.read_all()
    df = table.to_pandas()
    kept = (table.schema.metadata or {}).get(_ATTRS)
    if kept is not None and not df.attrs:
        df.attrs.update(json.loads(kept))
    return df


_ATTRS = b"streamlab.attrs"  # a batch's attrs where the pandas metadata lacks "attributes"


def read_header(data: bytes, reader: str = "auto") -> tuple[str, int]:
    """A frame's codec name and where its payload starts (``CodecError`` if it is not a
    streamlab frame; ``reader`` names who was reading, for the message)."""
    if len(data) < _HEADER.size or data[:4] != MAGIC:
        raise CodecError(
            f"{reader}: not a streamlab frame (it does not start with {MAGIC!r}; {len(data)} bytes)"
        )
    _, n = _HEADER.unpack_from(data)
    return data[_HEADER.size : _HEADER.size + n].decode("ascii", "replace"), _HEADER.size + n


def join_blobs(blobs: list[bytes]) -> bytes:
    """Blobs, each after its length (4 bytes, little-endian)."""
    return b"".join(len(b).to_bytes(4, "little") + b for b in blobs)


def split_blobs(buf: bytes) -> Iterator[bytes]:
    """The inverse of :func:`join_blobs`, one blob at a time.

    >>> list(split_blobs(join_blobs([b"ab", b"", b"c"])))
    [b'ab', b'', b'c']
    """
    view, pos = memoryview(buf), 0
    while pos < len(view):
        end = pos + 4 + int.from_bytes(view[pos : pos + 4], "little")
        if end > len(view):
            raise ValueError(f"truncated: a blob ends at byte {end} of {len(view)}")
        yield bytes(view[pos + 4 : end])
        pos = end


class Codec:
    """Base class. Subclasses set ``name`` and ``lossless`` and implement ``encode`` and
    ``_decode(data, limit)``; column-aware codecs override ``_encode_frame`` and
    ``_decode_frame(payload, limit)`` too. ``limit`` is ``max_decoded``, already checked.

    Examples
    --------
    >>> import pandas as pd
    >>> class Reverse(Codec):
    ...     name = "reverse"
    ...     def encode(self, data):
    ...         return bytes(data)[::-1]
    ...     def _decode(self, data, limit):
    ...         if len(data) > limit:
    ...             raise over_limit(self.name, limit)
    ...         return bytes(data)[::-1]
    >>> r = Reverse()
    >>> r.encode(b"abc"), r.decode(b"cba")
    (b'cba', b'abc')
    >>> r.decode_frame(r.encode_frame(pd.DataFrame({"x": [1, 2]})))["x"].tolist()
    [1, 2]
    """

    name = ""
    lossless = True

    def encode(self, data: bytes) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, *, max_decoded: int = MAX_DECODED) -> bytes:
        """The bytes ``data`` encodes; :class:`CodecLimitError` past ``max_decoded`` bytes."""
        return self._decode(data, check_max_decoded(max_decoded))

    def _decode(self, data: bytes, limit: int) -> bytes:
        raise NotImplementedError

    # -- frames -------------------------------------------------------------------------------
    def encode_frame(self, df: pd.DataFrame) -> bytes:
        """A self-describing frame: ``SLF1``, the codec's name, then its payload."""
        name = self.name.encode()
        return _HEADER.pack(MAGIC, len(name)) + name + self._encode_frame(df)

    def decode_frame(self, data: bytes, *, max_decoded: int = MAX_DECODED) -> pd.DataFrame:
        """The batch a frame holds. ``max_decoded`` bounds every stage (the inflated bytes,
        the columns as the frame declares them): past it, :class:`CodecLimitError`."""
        limit = check_max_decoded(max_decoded)
        name, start = read_header(data, self.name)
        if name != self.name:
            raise CodecError(
                f"{self.name}: this frame was written by codec {name!r}; decode it "
                f"with codec({name!r})"
            )
        try:
            return self._decode_frame(data[start:], limit)
        except CodecError:
            raise
        except Exception as exc:  # a codec library's own error on corrupt input
            raise CodecError(f"{self.name}: corrupt or truncated frame ({exc})") from exc

    def _encode_frame(self, df: pd.DataFrame) -> bytes:
        return self.encode(frame_to_bytes(df))

    def _decode_frame(self, payload: bytes, limit: int) -> pd.DataFrame:
        return bytes_to_frame(self._decode(payload, limit), limit, self.name)

    def __repr__(self) -> str:
        return f"codec({self.name!r})"


class ByteCodec(Codec):
    """A general-purpose codec wrapping a compress function and a bounded decompress function
    ``decompress(data, limit, name)`` (see :mod:`.inflate`)."""

    def __init__(self, name: str, compress, decompress, errors=(Exception,)) -> None:
        self.name = name
        self._compress, self._decompress, self._errors = compress, decompress, errors

    def encode(self, data: bytes) -> bytes:
        return self._compress(bytes(data))

    def _decode(self, data: bytes, limit: int) -> bytes:
        try:
            return self._decompress(bytes(data), limit, self.name)
        except CodecError:
            raise
        except self._errors as exc:
            raise CodecError(f"{self.name}: corrupt or truncated input ({exc})") from exc
