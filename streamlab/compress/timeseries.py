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
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ConfigError
from . import bits
from .base import Codec, CodecError, bytes_to_frame, frame_to_bytes, over_limit
from .bits import Entropy

__all__ = ["TimeSeriesCodec"]

_VERSION = 1
_HEAD = struct.Struct(">IBBI")  # crc32 of the rest, version, entropy id, meta length
_ORDERS = ("raw", "delta", "delta-of-delta")
_NAT = np.iinfo(np.int64).min
_MASKED = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


class _Ctx:
    """Per-frame state: rows, the entropy stage, the grouping order and its column's name;
    when decoding, ``limit`` (max_decoded) and the codec's ``name`` for its errors."""

    def __init__(self, n: int, entropy: Entropy, perm=None, by=None, limit=0, name="") -> None:
        self.n, self.ent, self.perm, self.by = n, entropy, perm, by
        self.limit, self.name = limit, name
        self.codes = None  # set by the dictionary decoders (the grouping column's codes)

    def plain(self, n: int) -> _Ctx:
        return _Ctx(n, self.ent, limit=self.limit, name=self.name)

    def inflate(self, blob: bytes) -> bytes:
        """A blob through the entropy stage, at most ``limit`` bytes of it."""
        return self.ent.decompress(blob, self.limit, self.name)

    def values(self) -> int:
        """``n``, once checked: ``n`` int64 values must fit in ``limit`` before any is made."""
        if not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"a count of {self.n!r} values in the frame's meta")
        if 8 * self.n > self.limit:
            raise over_limit(self.name, self.limit, 8 * self.n)
        return self.n


def _by(ctx: _Ctx, grouped: bool) -> str:
    return f" by {ctx.by!r}" if grouped else ""


def _enc_ints(v: np.ndarray, ctx: _Ctx, choice=None) -> tuple[dict, list[bytes]]:
    order, grouped, _ = choice or bits.best_order(v, ctx.perm)
    d = bits.zigzag(bits.delta(v[ctx.perm] if grouped else v, order))
    return {"o": order, "g": grouped, "m": _ORDERS[order] + _by(ctx, grouped)}, [
        ctx.ent.compress(bits.pack(d))
    ]


def _dec_ints(spec: dict, r: Iterator[bytes], ctx: _Ctx) -> np.ndarray:
    n = ctx.values()
    v = bits.undelta(bits.unzigzag(bits.unpack(ctx.inflate(next(r)), n)), spec["o"])
    return bits.unpermute(v, ctx.perm) if spec["g"] else v


def _enc_float(x: np.ndarray, ctx: _Ctx) -> tuple[dict, list[bytes]]:
    raw, best = x.view(f"u{x.dtype.itemsize}").astype(np.uint64), None
    if (found := bits.scaled(x)) is not None and 32 * found[2].sum() <= x.size:
        d, ints, patch = found
        ints = ints[bits.ffill_index(patch)]  # a patched slot repeats the previous integer
        best = ("scaled", bits.best_order(ints, ctx.perm))
    for grouped in (False, True) if ctx.perm is not None else (False,):
        xor = bits.xor_bits(bits.sample_blocks(raw, ctx.perm if grouped else None))
        if best is None or xor + 64 < best[1][2]:  # near a tie, scaled integers win
            best = ("xor", (0, grouped, xor))
    if best[0] == "xor":
        grouped = best[1][1]
        blob = ctx.ent.compress(bits.xor_pack(raw[ctx.perm] if grouped else raw))
        return {"d": None, "g": grouped, "m": "xor" + _by(ctx, grouped)}, [blob]
    spec, blobs = _enc_ints(ints, ctx, best[1])
    pos = np.flatnonzero(patch)
    spec.update(d=d, p=int(pos.size), m=f"scaled({d}) {spec['m']}")
    if pos.size:
        spec["m"] += f" +{pos.size} patches"
        pspec, pblobs = _enc_ints(pos, ctx.plain(pos.size))
        spec["ps"] = pspec
        blobs = [*pblobs, ctx.ent.compress(bits.pack(raw[pos])), *blobs]
    return spec, blobs


def _dec_float(spec: dict, r: Iterator[bytes], ctx: _Ctx, dtype: np.dtype) -> np.ndarray:
    u = f"u{dtype.itemsize}"
    if spec["d"] is None:
        b = bits.xor_unpack(ctx.inflate(next(r)), ctx.values())
        return (bits.unpermute(b, ctx.perm) if spec["g"] else b).astype(u).view(dtype)
    if spec["p"]:
        pos = _dec_ints(spec["ps"], r, ctx.plain(spec["p"]))
        patches = bits.unpack(ctx.inflate(next(r)), spec["p"]).astype(u)
    x = (_dec_ints(spec, r, ctx) / 10.0 ** spec["d"]).astype(dtype)
    if spec["p"]:
        x.view(u)[pos] = patches
    return x


def _strings(s: pd.Series):
    """(codes, uniques, null) if ``s`` is dictionary-encodable, else None."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return np.asarray(s.cat.codes, dtype=np.int64), s.cat.categories, None
    if not isinstance(dt, pd.StringDtype) and not (
        dt == np.dtype(object) and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    ):
        return None
    codes, uniques = pd.factorize(s)
    if isinstance(dt, pd.StringDtype):
        return codes, uniques, None
    nulls = s.to_numpy()[codes < 0]  # object columns: None or NaN, whichever they hold
    if all(v is None for v in nulls):
        return codes, uniques, "none"
    return (codes, uniques, "nan") if all(isinstance(v, float) for v in nulls) else None


def _enc_dict(s: pd.Series, ctx: _Ctx, found, grouping: bool) -> tuple[dict, list[bytes]]:
    codes, uniques, null = found
    spec, blobs = _enc_ints(codes + 1, ctx.plain(len(s)) if grouping else ctx)
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cats = pd.Series(uniques)
        cspec, cblobs = _enc_column(cats, ctx.plain(len(uniques)), _strings(cats))
        spec.update(k="cat", ordered=bool(dt.ordered), c=cspec, nc=len(uniques))
        spec["m"] = f"category({len(uniques)}) {spec['m']}"
        return spec, [bits.join_blobs(cblobs), *blobs]
    enc = [str(u).encode("utf-8", "surrogatepass") for u in uniques]  # a loop over uniques
    lspec, lblobs = _enc_ints(np.fromiter(map(len, enc), np.int64, len(enc)), ctx.plain(len(enc)))
    sd = [dt.storage, str(dt.na_value)] if isinstance(dt, pd.StringDtype) else None
    spec.update(k="str", u=len(enc), l=lspec, null=null, sd=sd, m=f"dict({len(enc)}) {spec['m']}")
    return spec, [*lblobs, ctx.ent.compress(b"".join(enc)), *blobs]


def _dec_dict(spec: dict, r: Iterator[bytes], ctx: _Ctx):
    if spec["k"] == "cat":
        cats = _dec_column(spec["c"], bits.split_blobs(next(r)), ctx.plain(spec["nc"]))
        codes = ctx.codes = _dec_ints(spec, r, ctx) - 1
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats, spec["ordered"]))
    ends = np.cumsum(_dec_ints(spec["l"], r, ctx.plain(spec["u"]))).tolist()
    data = ctx.inflate(next(r))
    uniques = [
        data[a:b].decode("utf-8", "surrogatepass") for a, b in zip([0, *ends], ends, strict=False)
    ]
    codes = ctx.codes = _dec_ints(spec, r, ctx) - 1
    if spec["sd"] is not None:
        storage, na = spec["sd"]
        arr = pa.array(uniques, pa.large_string()).take(pa.array(codes, mask=codes < 0))
        return pd.array(arr, dtype=pd.StringDtype(storage, np.nan if na == "nan" else pd.NA))
    table = np.array([*uniques, None if spec["null"] == "none" else np.nan], dtype=object)
    return pd.Series(table[codes], dtype=object, copy=False)


def _enc_column(s: pd.Series, ctx: _Ctx, found=None, grouping=False) -> tuple[dict, list[bytes]]:
    """(spec, blobs) of one column; ``found``: its dictionary (:func:`_strings`), if any."""
    dt, kind = s.dtype, getattr(s.dtype, "kind", "O")
    if found is not None:
        return _enc_dict(s, ctx, found, grouping)
    if isinstance(s.array, _MASKED):
        mask = np.asarray(s.isna())
        values = s.array.to_numpy(dtype=dt.numpy_dtype, na_value=dt.numpy_dtype.type(0))
        inner, blobs = _enc_column(pd.Series(values[bits.ffill_index(mask)]), ctx)  # not strings
        return {"k": "masked", "v": inner, "m": f"{inner['m']} +nulls"}, [
            bits.pack_bitmap(mask),
            *blobs,
        ]
    if kind in "mM" and isinstance(dt, np.dtype | pd.DatetimeTZDtype):
        v = np.asarray(s.array.asi8 if kind == "M" else s.to_numpy().view(np.int64))
        nat = v == _NAT  # NaT goes to a bitmap, its slot repeats the previous time
        spec, blobs = _enc_ints(v[bits.ffill_index(nat)], ctx)
        spec.update(k="time", dt=str(dt), nat=bool(nat.any()), m="int " + spec["m"])
        return spec, ([bits.pack_bitmap(nat)] if nat.any() else []) + blobs
    if not isinstance(dt, np.dtype) or kind not in "iufb" or (kind == "f" and dt.itemsize < 4):
        try:
            blob = frame_to_bytes(pd.DataFrame({"c": s.reset_index(drop=True)}))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ConfigError(f"column {s.name!r} of dtype {dt} cannot be encoded: {exc}") from exc
        return {"k": "arrow", "m": "arrow ipc"}, [ctx.ent.compress(blob)]
    native = s.to_numpy().astype(dt.newbyteorder("="), copy=False)
    if kind == "b":
        return {"k": "bool", "m": "bitmap"}, [ctx.ent.compress(bits.pack_bitmap(native))]
    if kind == "f":
        spec, blobs = _enc_float(np.ascontiguousarray(native), ctx)
    else:
        spec, blobs = _enc_ints(native.view(f"i{dt.itemsize}").astype(np.int64), ctx)
        spec["m"] = "int " + spec["m"]
    spec.update(k=kind, dt=dt.str)
    return spec, blobs


def _dec_column(spec: dict, r: Iterator[bytes], ctx: _Ctx):
    k, n = spec["k"], ctx.n
    if k in ("cat", "str"):
        return _dec_dict(spec, r, ctx)
    if k == "masked":
        mask = bits.unpack_bitmap(next(r), n).copy()
        values = np.asarray(_dec_column(spec["v"], r, ctx))
        kinds = {"b": pd.arrays.BooleanArray, "f": pd.arrays.FloatingArray}
        return kinds.get(values.dtype.kind, pd.arrays.IntegerArray)(values, mask)
    if k == "time":
        nat = bits.unpack_bitmap(next(r), n) if spec["nat"] else None
        v = _dec_ints(spec, r, ctx)
        if nat is not None:
            v[nat] = _NAT
        dt = pd.api.types.pandas_dtype(spec["dt"])
        if isinstance(dt, pd.DatetimeTZDtype):
            return pd.array(v.view(f"M8[{dt.unit}]")).tz_localize("UTC").tz_convert(dt.tz)
        return v.view(dt)
    if k == "bool":
        return bits.unpack_bitmap(ctx.inflate(next(r)), n).copy()
    if k == "arrow":
        return bytes_to_frame(ctx.inflate(next(r)), ctx.limit, ctx.name)["c"].array
    dt = np.dtype(spec["dt"])
    if k == "f":
        return _dec_float(spec, r, ctx, dt.newbyteorder("=")).astype(dt)
    if k in "iu":
        return (
            _dec_ints(spec, r, ctx).astype(f"i{dt.itemsize}").view(f"{k}{dt.itemsize}").astype(dt)
        )
    raise ValueError(f"unknown column kind {k!r}")


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

    def _grouping(self, cols: list[pd.Series], names: list, n: int):
        """The index of the grouping column and the dictionaries found on the way."""
        found = {i: f for i, s in enumerate(cols) if (f := _strings(s)) is not None}
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
        return (min(fit, key=sizes.get) if fit else None), found

    def _columns(self, df: pd.DataFrame) -> tuple[dict, list[bytes]]:
        names = _json("column names", [*df.columns])
        n, cols = len(df), [df.iloc[:, i] for i in range(df.shape[1])]
        g, found = self._grouping(cols, names, n)
        ctx = _Ctx(n, self.entropy)
        if g is not None:
            ctx.perm, ctx.by = bits.group_order(found[g][0]), names[g]
        specs, bodies = [], []
        for i, s in enumerate(cols):
            spec, blobs = _enc_column(s, ctx, found.get(i), grouping=i == g)
            specs.append(spec)
            bodies.append(bits.join_blobs(blobs))
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
        ctx = _Ctx(n, ent, limit=limit, name=name)
        arrays = {}
        for i in ([g] if g is not None else []) + [i for i in range(len(ends) - 1) if i != g]:
            reader = bits.split_blobs(payload[ends[i] : ends[i + 1]])
            arrays[i] = _dec_column(meta["cols"][i], reader, ctx)
            if i == g:
                ctx.perm = bits.group_order(ctx.codes)
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
