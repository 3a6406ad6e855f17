"""A column-aware lossless codec for time-series batches.

Each column gets the cheapest of a few transforms, then an entropy stage (zstd; zlib when
``zstandard`` is missing):

- **integers and times**: raw, delta, or delta of delta (regular timestamps become runs of
  zeros), zigzag, block bit packing (:mod:`.bits`: frame of reference + bit width per 1024
  values). ``NaT`` and missing values of nullable columns go to a validity bitmap.
- **floats**: *scaled integers* when every value is a decimal with at most ``d`` digits and
  ``round(x * 10**d) / 10**d`` gives back the very same bits (then the integer path); else
  *XOR with the previous value* as in Gorilla (Pelkonen et al., VLDB 2015), vectorised per
  block: the block's common trailing zero bits are dropped and its leading zeros go with the bit
  width. NaN payloads, -0.0, infinities and subnormals come back bit for bit.
- **strings and categories**: a dictionary (UTF-8) and its codes on the integer path.
- **booleans**: one bit each. Anything else (objects of mixed types, periods, ...) is stored as
  Arrow IPC of that column through the entropy stage.

A *grouping column* makes the numeric transforms run per series: with ``by="auto"`` the
string or category column with the fewest distinct values (at most one per 16 rows) orders the
rows by group (stable), so ``t, value, sensor`` rows of ten interleaved sensors delta-code each
sensor's own series. Each column uses that order only when it is smaller; the choice is made on
up to eight sampled blocks of 1024 values (estimated packed bits), then the column is encoded
once.

The per-column transforms are in :mod:`.timeseries_columns` (on :mod:`.transforms`,
:mod:`.bits` and :mod:`.entropy`); this module is the frame around them.

``encode``/``decode`` of raw bytes (not a frame) use the entropy stage alone. Frames keep
columns, dtypes, time zones and ``attrs`` (JSON); the index becomes a ``RangeIndex``, as
with the other codecs. Frame layout: CRC-32 of the rest, format version, entropy stage id,
meta length, meta (JSON through the entropy stage), then each column's length-prefixed blobs.

Examples
--------
>>> import numpy as np, pandas as pd
>>> n = 10_000
>>> df = pd.DataFrame({
...     "time": pd.date_range("2026-01-01", periods=n, freq="1s", tz="UTC").repeat(4),
...     "value": np.round(np.cumsum(np.full(4 * n, 0.001)), 3),
...     "sensor": pd.array(["a", "b", "c", "d"] * n, dtype="str"),
... })
>>> c = TimeSeriesCodec()
>>> blob = c.encode_frame(df)
>>> out = c.decode_frame(blob)
>>> out.equals(df), bool(df.memory_usage(deep=True).sum() / len(blob) > 100)
(True, True)
>>> c.explain(df)[["column", "method"]]
   column                 method
0    time  int delta by 'sensor'
1   value        scaled(3) delta
2  sensor          dict(4) delta
3   (all)                  frame
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .base import Codec, CodecError, join_blobs, over_limit, split_blobs
from .entropy import Entropy
from .timeseries_columns import ColumnContext, decode_column, dictionary_encoding, encode_column
from .transforms import group_order

__all__ = ["TimeSeriesCodec"]

_VERSION = 1
_HEAD = struct.Struct(">IBBI")  # crc32 of the rest, version, entropy id, meta length


def _strip(spec):
    """The meta without the methods' descriptions (``m``: for :meth:`explain` only)."""
    if isinstance(spec, dict):
        return {k: _strip(v) for k, v in spec.items() if k != "m"}
    return [_strip(v) for v in spec] if isinstance(spec, list) else spec


def _json(what: str, value):
    try:
        ok = json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"timeseries: the batch's {what} {value!r} must survive JSON (str or "
            "int names; attrs of str, numbers, lists, dicts); use codec('zstd')"
        )
    return value


class TimeSeriesCodec(Codec):
    """Column-aware lossless codec; see the module docstring for the transforms.

    Parameters: ``entropy`` ("zstd", "zlib" or "none"), ``level`` (of the entropy stage;
    zstd 3, zlib 1 by default), ``by`` ("auto", None, or the name of the column whose groups
    the numeric columns may be delta-coded within).

    Examples
    --------
    >>> import pandas as pd
    >>> c = TimeSeriesCodec(entropy="zlib")
    >>> df = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"), "f": [0.5, -0.0, float("nan")]})
    >>> c.decode_frame(c.encode_frame(df)).equals(df)
    True
    >>> c.decode(c.encode(b"raw bytes use the entropy stage alone"))
    b'raw bytes use the entropy stage alone'
    """

    name = "timeseries"
    lossless = True

    def __init__(
        self, *, entropy: str = "zstd", level: int | None = None, by: str | None = "auto"
    ) -> None:
        self.entropy = Entropy(entropy, level=level)
        if by is not None and not isinstance(by, str):
            raise ConfigError(f"by must be 'auto', None or a column name, not {by!r}")
        self.by = by

    def encode(self, data: bytes) -> bytes:
        data = bytes(data)
        return (
            bytes([self.entropy.id])
            + zlib.crc32(data).to_bytes(4, "little")
            + self.entropy.compress(data)
        )

    def _decode(self, data: bytes, limit: int) -> bytes:
        try:
            crc = int.from_bytes(data[1:5], "little")
            out = Entropy.from_id(data[0]).decompress(data[5:], limit, self.name)
        except CodecError:
            raise
        except Exception as exc:
            raise CodecError(f"{self.name}: corrupt or truncated input ({exc})") from exc
        if zlib.crc32(out) != crc:
            raise CodecError(f"{self.name}: corrupt input (checksum mismatch)")
        return out

    def _grouping(self, cols: list[pd.Series], names: list, n: int) -> tuple[int | None, dict]:
        """The index of the grouping column and the dictionaries found on the way."""
        found = {i: f for i, s in enumerate(cols) if (f := dictionary_encoding(s)) is not None}
        if self.by not in (None, "auto") and (
            self.by not in names or names.index(self.by) not in found
        ):
            raise ConfigError(
                f"by={self.by!r} must name a string or category column of the batch; its "
                f"columns are {names}"
            )
        if self.by is None or n < 32:  # too few rows for groups to pay
            return None, found
        if self.by != "auto":
            return names.index(self.by), found
        sizes = {i: len(f[1]) + bool((f[0] < 0).any()) for i, f in found.items()}
        fit = [i for i, k in sizes.items() if k >= 2 and 16 * k <= n]
        return (min(fit, key=sizes.__getitem__) if fit else None), found

    def _columns(self, df: pd.DataFrame) -> tuple[dict, list[bytes]]:
        names = _json("column names", [*df.columns])
        n, cols = len(df), [df.iloc[:, i] for i in range(df.shape[1])]
        g, found = self._grouping(cols, names, n)
        ctx = ColumnContext(n, self.entropy)
        if g is not None:
            ctx.perm, ctx.by = group_order(found[g][0]), names[g]
        specs, bodies = [], []
        for i, s in enumerate(cols):
            spec, blobs = encode_column(s, ctx, found.get(i), grouping=i == g)
            specs.append(spec)
            bodies.append(join_blobs(blobs))
        c = df.columns
        index = [c.start, c.stop, c.step] if isinstance(c, pd.RangeIndex) else str(c.dtype)
        attrs = _json("attrs", dict(df.attrs))
        sizes = [len(b) for b in bodies]
        return dict(
            n=n, names=names, index=index, attrs=attrs, g=g, cols=specs, sizes=sizes
        ), bodies

    def _encode_frame(self, df: pd.DataFrame) -> bytes:
        meta, bodies = self._columns(df)
        m = self.entropy.compress(json.dumps(_strip(meta), separators=(",", ":")).encode())
        rest = struct.pack(">BBI", _VERSION, self.entropy.id, len(m)) + m + b"".join(bodies)
        return struct.pack(">I", zlib.crc32(rest)) + rest

    def _decode_frame(self, payload: bytes, limit: int, name: str | None = None) -> pd.DataFrame:
        name = name or self.name  # a lossy codec decodes its parts with this one
        crc, version, eid, size = _HEAD.unpack_from(payload)
        if zlib.crc32(memoryview(payload)[4:]) != crc:
            raise CodecError(f"{self.name}: corrupt frame (checksum mismatch)")
        if version != _VERSION:
            raise CodecError(f"{self.name}: frame format {version}, this version reads {_VERSION}")
        ent = Entropy.from_id(eid)
        meta = json.loads(ent.decompress(payload[_HEAD.size : _HEAD.size + size], limit, name))
        n, g = meta["n"], meta["g"]
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"a count of {n!r} rows in the frame's meta")
        if (declared := 8 * n * max(1, len(meta["cols"]))) > limit:  # before any is made
            raise over_limit(name, limit, declared)
        ends = np.cumsum([_HEAD.size + size, *meta["sizes"]]).tolist()
        if ends[-1] != len(payload):
            raise ValueError(f"frame of {len(payload)} bytes, expected {ends[-1]}")
        ctx = ColumnContext(n, ent, limit=limit, name=name)
        arrays = {}
        for i in ([g] if g is not None else []) + [i for i in range(len(ends) - 1) if i != g]:
            reader = split_blobs(payload[ends[i] : ends[i + 1]])
            arrays[i] = decode_column(meta["cols"][i], reader, ctx)
            if i == g:
                if ctx.codes is None:
                    raise ValueError(f"the grouping column {g} is not a dictionary column")
                ctx.perm = group_order(ctx.codes)
        out = pd.DataFrame(dict(sorted(arrays.items())), index=pd.RangeIndex(n), copy=False)
        ix = meta["index"]
        out.columns = (
            pd.RangeIndex(*ix) if isinstance(ix, list) else pd.Index(meta["names"], dtype=ix)
        )
        out.attrs = meta["attrs"]
        return out

    def explain(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per column: the method chosen, raw bytes (in memory), encoded bytes and the ratio;
        a last row ``(all)`` for the whole frame.

        Examples
        --------
        >>> import pandas as pd
        >>> TimeSeriesCodec().explain(pd.DataFrame({"x": [1, 2, 3] * 100}))
          column     method  raw_bytes  encoded_bytes  ratio
        0      x  int delta       2400             32  75.00
        1  (all)      frame       2400            163  14.72
        """
        meta, bodies = self._columns(df)
        raw = [int(df.iloc[:, i].memory_usage(index=False, deep=True)) for i in range(df.shape[1])]
        rows = [
            (name, spec["m"], r, len(b))
            for name, spec, r, b in zip(meta["names"], meta["cols"], raw, bodies, strict=True)
        ]
        rows.append(("(all)", "frame", sum(raw), len(self.encode_frame(df))))
        out = pd.DataFrame(rows, columns=["column", "method", "raw_bytes", "encoded_bytes"])
        out["ratio"] = (out["raw_bytes"] / out["encoded_bytes"]).round(2)
        return out
