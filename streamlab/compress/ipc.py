"""What an Arrow IPC stream declares it will take once read, from its message headers alone.

Reading a frame's Arrow IPC bytes is zero-copy except in two places, and both are sized by
numbers the stream itself declares: buffers compressed inside the IPC stream (each starts
with its uncompressed length) are inflated by Arrow, and ``to_pandas`` gives every row of
every array (children included) at least a slot of about 8 bytes (a null-typed or
run-end-encoded column of 2**31 rows costs nothing on the wire). :func:`inspect_ipc` adds
those numbers up from the record-batch and dictionary-batch headers so that a caller can
refuse the frame before Arrow reads it. View types (``string_view``, ``list_view``...) may
point many rows at the same bytes, so their decoded size is not declared at all: it names
the first one the schema holds (frames of batches never hold them).

The stream is walked as Arrow's stream reader walks it (the IPC format: a continuation
marker, the metadata length, a flatbuffer ``Message``, then ``bodyLength`` bytes of body;
length 0 ends the stream), and the flatbuffers are read with a few ``struct`` calls:
nothing is allocated for the arrays, and Python bounds-checks every read. Bytes that do not
parse raise ``ValueError`` (or ``struct.error``): the frame is corrupt.

Examples
--------
>>> import io, pyarrow as pa
>>> table = pa.table({"x": pa.array(range(1000), pa.int64())})
>>> sink = io.BytesIO()
>>> with pa.ipc.new_stream(sink, table.schema) as w:
...     w.write_table(table)
>>> inspect_ipc(sink.getvalue())  # 1000 rows x 8 bytes, no view type
(8000, None)
>>> sink = io.BytesIO()
>>> n = (1 << 31) - 1  # the most rows Arrow writes in one batch
>>> nulls = pa.table({"n": pa.Array.from_buffers(pa.null(), n, [None])})  # no buffers at all
>>> with pa.ipc.new_stream(sink, nulls.schema) as w:
...     w.write_table(nulls)
>>> len(sink.getvalue()), inspect_ipc(sink.getvalue())[0] == 8 * n  # 16 GiB in pandas
(224, True)
"""

from __future__ import annotations

import functools
import struct

__all__ = ["declared_bytes", "inspect_ipc"]

_U8, _U16, _I32, _U32, _I64 = (struct.Struct(f) for f in ("<B", "<H", "<i", "<I", "<q"))
# Message.fbs: Message slots (a union takes two: its type, then the table) and header types
_HEADER_TYPE, _HEADER, _BODY_LENGTH = 1, 2, 3
_SCHEMA, _DICTIONARY_BATCH, _RECORD_BATCH = 1, 2, 3
_DICT_DATA = 1  # DictionaryBatch.data (a RecordBatch)
_NODES, _BUFFERS, _COMPRESSION = 1, 2, 3  # RecordBatch.nodes, .buffers, .compression
# Schema.fbs: Schema.fields; Field.type_type, Field.children; the view types of union Type
_FIELDS, _TYPE_TYPE, _CHILDREN = 1, 2, 5
_VIEWS = {23: "binary_view", 24: "string_view", 25: "list_view", 26: "large_list_view"}
_MAX_DEPTH = 64  # nested fields deeper than this are not a batch's


class _Table:
    """A flatbuffer table: a position and its vtable."""

    def __init__(self, buf, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vtable = pos - _I32.unpack_from(buf, pos)[0]
        self.vsize = _U16.unpack_from(buf, self.vtable)[0]

    def _at(self, slot: int) -> int:
        entry = 4 + 2 * slot
        if entry >= self.vsize:
            return 0
        off = _U16.unpack_from(self.buf, self.vtable + entry)[0]
        return self.pos + off if off else 0

    def scalar(self, slot: int, kind: struct.Struct, default: int = 0) -> int:
        at = self._at(slot)
        return kind.unpack_from(self.buf, at)[0] if at else default

    def table(self, slot: int) -> _Table | None:
        at = self._at(slot)
        return _Table(self.buf, at + _U32.unpack_from(self.buf, at)[0]) if at else None

    def tables(self, slot: int) -> list[_Table]:
        """A vector of tables."""
        at = self._at(slot)
        if not at:
            return []
        vec = at + _U32.unpack_from(self.buf, at)[0]
        n = _U32.unpack_from(self.buf, vec)[0]
        elements = range(vec + 4, vec + 4 + 4 * n, 4)
        return [_Table(self.buf, e + _U32.unpack_from(self.buf, e)[0]) for e in elements]

    def pairs(self, slot: int) -> tuple[int, ...]:
        """A vector of structs of two int64 (FieldNode, Buffer), flat: a0, b0, a1, b1..."""
        at = self._at(slot)
        if not at:
            return ()
        vec = at + _U32.unpack_from(self.buf, at)[0]
        n = _U32.unpack_from(self.buf, vec)[0]
        return struct.unpack_from(f"<{2 * n}q", self.buf, vec + 4)


def _batch_bytes(batch: _Table, body) -> int:
    lengths = batch.pairs(_NODES)[::2]
    if lengths and min(lengths) < 0:
        raise ValueError("Arrow IPC record batch with a negative length")
    total = 8 * sum(lengths)  # Python ints: no overflow whatever they claim
    if batch.table(_COMPRESSION) is not None:  # each buffer: inflated length (-1: stored), data
        buffers = batch.pairs(_BUFFERS)
        for offset, length in zip(buffers[::2], buffers[1::2], strict=True):
            if length >= 8:
                size = _I64.unpack_from(body, offset)[0]
                total += length - 8 if size == -1 else size
    return total


def _view(field: _Table, depth: int = 0) -> str | None:
    """The first view type in a field or its children (a dictionary's values included: a
    dictionary-encoded field's type is its values' type)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"Arrow IPC schema nested more than {_MAX_DEPTH} deep")
    if (kind := field.scalar(_TYPE_TYPE, _U8)) in _VIEWS:
        return _VIEWS[kind]
    for child in field.tables(_CHILDREN):
        if (found := _view(child, depth + 1)) is not None:
            return found
    return None


@functools.lru_cache(maxsize=64)
def _schema_view(meta: bytes) -> str | None:
    """The first view type of a schema message (frames of one stream share their schema:
    its bytes are the cache key)."""
    header = _Table(meta, _U32.unpack_from(meta, 0)[0]).table(_HEADER)
    if header is None:  # inspect_ipc refused such a message already
        return None
    for field in header.tables(_FIELDS):
        if (found := _view(field)) is not None:
            return found
    return None


def _messages(data):
    """(header type, Message table, body) of each message, as Arrow's stream reader reads
    them: a 0xFFFFFFFF continuation marker (or none, before Arrow 0.15), the metadata length
    (0: end of stream), the metadata, then ``bodyLength`` bytes."""
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos + 4 <= end:
        length = _I32.unpack_from(view, pos)[0]
        pos += 4
        if length == -1:
            if pos + 4 > end:
                return
            length = _I32.unpack_from(view, pos)[0]
            pos += 4
        if length == 0:
            return
        if length < 0 or pos + length > end:
            raise ValueError(f"Arrow IPC message of {length} bytes at byte {pos} of {end}")
        meta = view[pos : pos + length]
        pos += length
        message = _Table(meta, _U32.unpack_from(meta, 0)[0])
        size = message.scalar(_BODY_LENGTH, _I64)
        if size < 0 or pos + size > end:
            raise ValueError(f"Arrow IPC body of {size} bytes at byte {pos} of {end}")
        yield message.scalar(_HEADER_TYPE, _U8), message, view[pos : pos + size]
        pos += size


def inspect_ipc(data) -> tuple[int, str | None]:
    """(bytes the stream's arrays take once read into pandas as its headers declare them:
    8 per row of every array, children and dictionaries included, plus the inflated size of
    buffers compressed inside the stream; the first view type its schema holds, or None)."""
    total, view = 0, None
    for kind, message, body in _messages(data):
        header = message.table(_HEADER)
        if header is None:
            raise ValueError("Arrow IPC message without a header")
        if kind == _SCHEMA:
            view = view or _schema_view(bytes(message.buf))
        elif kind in (_RECORD_BATCH, _DICTIONARY_BATCH):
            batch = header.table(_DICT_DATA) if kind == _DICTIONARY_BATCH else header
            if batch is None:
                raise ValueError("Arrow IPC dictionary batch without data")
            total += _batch_bytes(batch, body)
    return total, view


def declared_bytes(data) -> int:
    """The first half of :func:`inspect_ipc`."""
    return inspect_ipc(data)[0]
