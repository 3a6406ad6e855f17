"""What an Arrow IPC stream declares it will take once read, from its message headers alone.

Reading a frame's Arrow IPC bytes is zero-copy except in two places, and both are sized by
numbers the stream itself declares: buffers compressed inside the IPC stream (each starts
with its uncompressed length) are inflated by Arrow, and ``to_pandas`` gives every row of
every array (children included) at least a slot of about 8 bytes (a null-typed or
run-end-encoded column of 2**31 rows costs nothing on the wire). :func:`declared_bytes`
adds those numbers up from the record-batch and dictionary-batch headers (flatbuffers,
read here with a few ``struct`` calls: no Arrow allocation happens) so that a caller can
refuse the frame before reading it. View types (``string_view``, ``list_view``...) may
point many rows at the same bytes, so their decoded size is not declared at all:
:func:`unbounded_type` finds them (frames of batches never hold them).

Examples
--------
>>> import io, pyarrow as pa
>>> table = pa.table({"x": pa.array(range(1000), pa.int64())})
>>> sink = io.BytesIO()
>>> with pa.ipc.new_stream(sink, table.schema) as w:
...     w.write_table(table)
>>> declared_bytes(sink.getvalue())  # 1000 rows x 8 bytes
8000
>>> sink = io.BytesIO()
>>> n = (1 << 31) - 1  # the most rows Arrow writes in one batch
>>> nulls = pa.table({"n": pa.Array.from_buffers(pa.null(), n, [None])})  # no buffers at all
>>> with pa.ipc.new_stream(sink, nulls.schema) as w:
...     w.write_table(nulls)
>>> len(sink.getvalue()), declared_bytes(sink.getvalue()) == 8 * n  # 16 GiB in pandas
(224, True)
"""

from __future__ import annotations

import struct

import pyarrow as pa

__all__ = ["declared_bytes", "unbounded_type"]

_U16, _I32, _U32, _I64 = (struct.Struct(f) for f in ("<H", "<i", "<I", "<q"))
# Message.fbs slots (a union takes two: its type, then the table)
_HEADER = 2  # Message.header
_DICT_DATA = 1  # DictionaryBatch.data (a RecordBatch)
_NODES, _BUFFERS, _COMPRESSION = 1, 2, 3  # RecordBatch.nodes, .buffers, .compression


class _Table:
    """A flatbuffer table: a position and its vtable (Python bounds-checks every read)."""

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

    def has(self, slot: int) -> bool:
        return bool(self._at(slot))

    def table(self, slot: int) -> _Table:
        at = self._at(slot)
        if not at:
            raise ValueError(f"Arrow IPC message without table field {slot}")
        return _Table(self.buf, at + _U32.unpack_from(self.buf, at)[0])

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
    if batch.has(_COMPRESSION):  # each buffer: its uncompressed length (-1: stored), then data
        view = memoryview(body)
        buffers = batch.pairs(_BUFFERS)
        for offset, length in zip(buffers[::2], buffers[1::2], strict=True):
            if length >= 8:
                size = _I64.unpack_from(view, offset)[0]
                total += length - 8 if size == -1 else size
    return total


def declared_bytes(data) -> int:
    """Bytes the stream's arrays take once read into pandas, as its headers declare them:
    8 per row of every array (children and dictionaries included), plus the inflated size
    of buffers compressed inside the stream. ``ValueError`` (or Arrow's) if it is not IPC."""
    total = 0
    for msg in pa.ipc.MessageReader.open_stream(pa.py_buffer(data)):
        if msg.type not in ("record batch", "dictionary"):
            continue
        meta = memoryview(msg.metadata)
        header = _Table(meta, _U32.unpack_from(meta, 0)[0]).table(_HEADER)
        batch = header.table(_DICT_DATA) if msg.type == "dictionary" else header
        total += _batch_bytes(batch, msg.body)
    return total


_VIEWS = frozenset(
    t.id
    for t in (
        pa.string_view(),
        pa.binary_view(),
        pa.list_view(pa.int8()),
        pa.large_list_view(pa.int8()),
    )
)
_DICTIONARY = pa.dictionary(pa.int8(), pa.string()).id


def unbounded_type(schema: pa.Schema) -> str | None:
    """The first view type in ``schema`` (nested ones too), or None.

    >>> unbounded_type(pa.schema([("s", pa.string()), ("v", pa.list_(pa.string_view()))]))
    'string_view'
    """
    todo = list(schema.types)
    while todo:
        t = todo.pop()
        if t.id in _VIEWS:
            return str(t)
        if t.num_fields:
            todo += [t.field(i).type for i in range(t.num_fields)]
        elif t.id == _DICTIONARY:
            todo.append(t.value_type)
    return None
