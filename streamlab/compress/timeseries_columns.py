"""The per-column transforms of :class:`~streamlab.compress.timeseries.TimeSeriesCodec`.

:func:`encode_column` turns one column into a spec (a JSON-able dict: the method chosen and
what the decoder needs) and a list of blobs; :func:`decode_column` reads them back. Integers
and times take delta / zigzag / bit packing; floats scaled integers or XOR; strings and
categories a dictionary; masked arrays and ``NaT`` a validity bitmap; anything else Arrow IPC.
Every blob goes through the frame's entropy stage. The frame around the columns is
:mod:`.timeseries`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from streamlab.compress.entropy import Entropy
>>> col = pd.Series(np.arange(0, 5000, 5))
>>> spec, blobs = encode_column(col, ColumnContext(col.size, Entropy("zlib")))
>>> spec["m"], len(blobs)
('int delta', 1)
>>> ctx = ColumnContext(col.size, Entropy("zlib"), limit=1 << 20, name="timeseries")
>>> np.array_equal(decode_column(spec, iter(blobs), ctx), col.to_numpy())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ConfigError
from . import bits, transforms
from .base import bytes_to_frame, frame_to_bytes, join_blobs, over_limit, split_blobs
from .entropy import Entropy

__all__ = ["ColumnContext", "decode_column", "dictionary_encoding", "encode_column"]

_ORDERS = ("raw", "delta", "delta-of-delta")
_NAT = np.iinfo(np.int64).min
_MASKED = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


class ColumnContext:
    """Per-frame state: rows, the entropy stage, the grouping order and its column's name;
    when decoding, ``limit`` (max_decoded) and the codec's ``name`` for its errors."""

    def __init__(
        self,
        n: int,
        entropy: Entropy,
        perm: np.ndarray | None = None,
        by: str | None = None,
        limit: int = 0,
        name: str = "",
    ) -> None:
        self.n, self.ent, self.perm, self.by = n, entropy, perm, by
        self.limit, self.name = limit, name
        #: set by the dictionary decoders (the grouping column's codes)
        self.codes: np.ndarray | None = None

    def plain(self, n: int) -> ColumnContext:
        return ColumnContext(n, self.ent, limit=self.limit, name=self.name)

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


def _by(ctx: ColumnContext, grouped: bool) -> str:
    return f" by {ctx.by!r}" if grouped else ""


def _enc_ints(v: np.ndarray, ctx: ColumnContext, choice=None) -> tuple[dict, list[bytes]]:
    order, grouped, _ = choice or transforms.best_order(v, ctx.perm)
    d = transforms.zigzag(transforms.delta(v[ctx.perm] if grouped else v, order))
    return {"o": order, "g": grouped, "m": _ORDERS[order] + _by(ctx, grouped)}, [
        ctx.ent.compress(bits.pack(d))
    ]


def _dec_ints(spec: dict, r: Iterator[bytes], ctx: ColumnContext) -> np.ndarray:
    n = ctx.values()
    v = transforms.undelta(transforms.unzigzag(bits.unpack(ctx.inflate(next(r)), n)), spec["o"])
    return transforms.unpermute(v, ctx.perm) if spec["g"] and ctx.perm is not None else v


def _enc_float(x: np.ndarray, ctx: ColumnContext) -> tuple[dict, list[bytes]]:
    raw = x.view(f"u{x.dtype.itemsize}").astype(np.uint64)
    best: tuple[str, tuple[int, bool, int]] | None = None
    if (found := transforms.scaled(x)) is not None and 32 * found[2].sum() <= x.size:
        d, ints, patch = found
        ints = ints[transforms.ffill_index(patch)]  # a patched slot repeats the previous integer
        best = ("scaled", transforms.best_order(ints, ctx.perm))
    for grouped in (False, True) if ctx.perm is not None else (False,):
        xor = bits.xor_bits(transforms.sample_blocks(raw, ctx.perm if grouped else None))
        if best is None or xor + 64 < best[1][2]:  # near a tie, scaled integers win
            best = ("xor", (0, grouped, xor))
    assert best is not None  # the loop ran at least once
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


def _dec_float(spec: dict, r: Iterator[bytes], ctx: ColumnContext, dtype: np.dtype) -> np.ndarray:
    u = f"u{dtype.itemsize}"
    if spec["d"] is None:
        b = bits.xor_unpack(ctx.inflate(next(r)), ctx.values())
        if spec["g"] and ctx.perm is not None:
            b = transforms.unpermute(b, ctx.perm)
        return b.astype(u).view(dtype)
    if spec["p"]:
        pos = _dec_ints(spec["ps"], r, ctx.plain(spec["p"]))
        patches = bits.unpack(ctx.inflate(next(r)), spec["p"]).astype(u)
    x = (_dec_ints(spec, r, ctx) / 10.0 ** spec["d"]).astype(dtype)
    if spec["p"]:
        x.view(u)[pos] = patches
    return x


def dictionary_encoding(s: pd.Series) -> tuple[np.ndarray, Any, str | None] | None:
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


def _enc_dict(s: pd.Series, ctx: ColumnContext, found, grouping: bool) -> tuple[dict, list[bytes]]:
    codes, uniques, null = found
    spec, blobs = _enc_ints(codes + 1, ctx.plain(len(s)) if grouping else ctx)
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cats = pd.Series(uniques)
        cspec, cblobs = encode_column(cats, ctx.plain(len(uniques)), dictionary_encoding(cats))
        spec.update(k="cat", ordered=bool(dt.ordered), c=cspec, nc=len(uniques))
        spec["m"] = f"category({len(uniques)}) {spec['m']}"
        return spec, [join_blobs(cblobs), *blobs]
    enc = [str(u).encode("utf-8", "surrogatepass") for u in uniques]  # a loop over uniques
    lspec, lblobs = _enc_ints(np.fromiter(map(len, enc), np.int64, len(enc)), ctx.plain(len(enc)))
    sd = [dt.storage, str(dt.na_value)] if isinstance(dt, pd.StringDtype) else None
    spec.update(k="str", u=len(enc), l=lspec, null=null, sd=sd, m=f"dict({len(enc)}) {spec['m']}")
    return spec, [*lblobs, ctx.ent.compress(b"".join(enc)), *blobs]


def _dec_dict(spec: dict, r: Iterator[bytes], ctx: ColumnContext):
    if spec["k"] == "cat":
        cats = decode_column(spec["c"], split_blobs(next(r)), ctx.plain(spec["nc"]))
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


def encode_column(
    s: pd.Series,
    ctx: ColumnContext,
    found: tuple[np.ndarray, Any, str | None] | None = None,
    grouping: bool = False,
) -> tuple[dict, list[bytes]]:
    """(spec, blobs) of one column; ``found``: its dictionary (:func:`dictionary_encoding`), if
    any; ``grouping``: it is the grouping column (its own codes are not grouped)."""
    dt, kind = s.dtype, getattr(s.dtype, "kind", "O")
    if found is not None:
        return _enc_dict(s, ctx, found, grouping)
    if isinstance(s.array, _MASKED):
        mask = np.asarray(s.isna())
        values = s.array.to_numpy(dtype=dt.numpy_dtype, na_value=dt.numpy_dtype.type(0))
        inner, blobs = encode_column(
            pd.Series(values[transforms.ffill_index(mask)]), ctx
        )  # not strings
        return {"k": "masked", "v": inner, "m": f"{inner['m']} +nulls"}, [
            bits.pack_bitmap(mask),
            *blobs,
        ]
    if kind in "mM" and isinstance(dt, np.dtype | pd.DatetimeTZDtype):
        v = np.asarray(s.array.asi8 if kind == "M" else s.to_numpy().view(np.int64))
        nat = v == _NAT  # NaT goes to a bitmap, its slot repeats the previous time
        spec, blobs = _enc_ints(v[transforms.ffill_index(nat)], ctx)
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


def decode_column(spec: dict, r: Iterator[bytes], ctx: ColumnContext) -> Any:
    """The column (an array) that :func:`encode_column` wrote as ``spec`` and the blobs ``r``."""
    k, n = spec["k"], ctx.n
    if k in ("cat", "str"):
        return _dec_dict(spec, r, ctx)
    if k == "masked":
        mask = bits.unpack_bitmap(next(r), n).copy()
        values = np.asarray(decode_column(spec["v"], r, ctx))
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
