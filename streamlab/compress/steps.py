"""Compression as stream steps: ``stream.compress(codec)``, ``stream.decompress(codec)`` and
``stream.compare([...])``, which measures several codecs on the live batches for a chart."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from streamz import Stream

from ..core.deadletter import DeadLetter, dead_letter_frame
from ..core.params import Param
from ..core.registry import register_step
from ..core.stats import StepStats
from ..core.step import Step
from ..errors import ConfigError
from ..parse.serialize import to_bytes
from .base import MAX_DECODED, CodecError, check_max_decoded
from .registry import AutoCodec, lossless_codecs
from .registry import codec as get_codec

__all__ = ["CodecStats", "compare", "compress", "decompress"]

#: What a codec raises for a batch it cannot represent (Arrow's errors, a column the
#: time-series codec refuses): the batch goes to ``.errors``, the stream goes on.
_UNENCODABLE = (pa.ArrowException, TypeError, ValueError, OverflowError)


@dataclass
class CodecStats(StepStats):
    """Counters of a codec step: ``batches`` (frames, for ``decompress``) passed on, their
    ``rows`` and frame ``bytes``, and ``bad``: rows (``compress``) or frames (``decompress``)
    sent to ``.errors``.

    Examples
    --------
    >>> s = CodecStats()
    >>> s.count_batch(rows=3, nbytes=42)
    >>> s.as_dict()
    {'rows': 3, 'batches': 1, 'bytes': 42, 'bad': 0}
    """

    rows: int = 0
    batches: int = 0
    bytes: int = 0
    bad: int = 0

    def count_batch(self, *, rows: int, nbytes: int = 0) -> None:
        self.rows += rows
        self.batches += 1
        self.bytes += nbytes


@register_step
class compress(Step, Stream):
    """Each batch becomes one self-describing compressed frame (``bytes``). A batch the codec
    cannot encode (a column of Python objects Arrow has no type for) goes whole to
    ``.errors`` with the reason, and the stream goes on.

    Examples
    --------
    >>> import pandas as pd
    >>> src = Stream()
    >>> back = src.compress("zlib").decompress("zlib").sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1.5, 2.5]}))
    >>> back[0]["x"].tolist()
    [1.5, 2.5]
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(self, upstream, codec, *, stream_name=None, **params) -> None:
        self.codec = get_codec(codec, **params)
        super().__init__(upstream, stream_name=stream_name or f"compress({self.codec.name})")
        self.stats = CodecStats()
        self.make_side_outputs(self.name)
        self._batches = 0

    def params(self) -> dict[str, Param]:
        """``codec``: switch to another lossless codec from the next batch (each frame names
        its codec, so ``decompress`` reads frames of both)."""
        return {
            "codec": Param(
                "codec", help="codec of the next frames", choices=tuple(lossless_codecs())
            )
        }

    def _get_codec(self) -> str:
        return self.codec.name

    def _set_codec(self, name: str) -> None:
        self.codec = get_codec(name)

    def update(self, x, who=None, metadata=None):
        self._batches += 1
        try:
            frame = self.codec.encode_frame(x)
        except _UNENCODABLE as exc:  # not the stream's end: this batch is a dead letter
            self.stats.bad += len(x)
            letter = DeadLetter(
                raw=to_bytes(x.head(100), "csv") if isinstance(x, pd.DataFrame) else b"",
                reason=f"{self.codec.name} cannot encode this batch: {exc}",
                origin=f"batch {self._batches}",
            )
            return self.to_side("errors", dead_letter_frame([letter]))
        self.stats.count_batch(rows=len(x), nbytes=len(frame))
        return self.forward(frame)


@register_step
class decompress(Step, Stream):
    """Frames back into batches. A frame that does not decode goes to ``.errors`` (a
    dead-letter batch with the reason) and the next one decodes as usual.

    ``codec="auto"`` reads each frame with the lossless codec its header names (follows a
    ``compress`` step whose codec is changed while it runs). ``max_decoded``: the most bytes
    one frame may decode to (default 256 MiB, see :mod:`streamlab.compress.base`); a frame
    past it (a decompression bomb) is refused while it decodes and becomes a dead letter.

    Examples
    --------
    >>> import pandas as pd
    >>> src = Stream()
    >>> packed = src.compress("zlib")
    >>> back = packed.decompress("auto").sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1]}))
    >>> packed.set_param("codec", "lzma")
    >>> src.emit(pd.DataFrame({"x": [2]}))
    >>> [b["x"].item() for b in back]
    [1, 2]
    >>> small = packed.decompress("auto", max_decoded=100)
    >>> bad = small.errors.sink_to_list()
    >>> src.emit(pd.DataFrame({"x": range(1000)}))
    >>> bad[0]["reason"].item()[:60]
    'lzma: decodes to more than max_decoded=100 bytes (100 B); re'
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(
        self, upstream, codec, *, max_decoded: int = MAX_DECODED, stream_name=None, **params
    ) -> None:
        self.max_decoded = check_max_decoded(max_decoded)
        self.auto = codec == "auto"
        if self.auto and params:
            raise ConfigError(f"codec='auto' takes no parameters; got {sorted(params)}")
        self.codec = AutoCodec() if self.auto else get_codec(codec, **params)
        super().__init__(upstream, stream_name=stream_name or f"decompress({self.codec.name})")
        self.stats = CodecStats()
        self.make_side_outputs(self.name)
        self._frames = 0

    def update(self, x, who=None, metadata=None):
        self._frames += 1
        try:
            df = self.codec.decode_frame(bytes(x), max_decoded=self.max_decoded)
        except CodecError as exc:
            self.stats.bad += 1
            letter = DeadLetter(raw=bytes(x), reason=str(exc), origin=f"frame {self._frames}")
            return self.to_side("errors", dead_letter_frame([letter]))
        self.stats.count_batch(rows=len(df), nbytes=len(x))
        return self.forward(df)


def _max_error(a: pd.DataFrame, b: pd.DataFrame) -> float:
    worst = 0.0
    for col in a.columns:
        if a[col].dtype.kind == "f" and col in b:
            diff = np.abs(a[col].to_numpy(dtype="float64") - b[col].to_numpy(dtype="float64"))
            if len(diff) and np.isfinite(diff).any():
                worst = max(worst, float(np.nanmax(diff)))
    return worst


@register_step
class compare(Step, Stream):
    """Run several codecs on every batch; emit one row per codec: ratio (against the batch as
    CSV text), encode and decode MB/s (of that CSV size), the largest absolute error on float
    columns, and whether a lossless codec gave the batch back exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> src = Stream()
    >>> out = src.compare(["zlib", "bz2"]).sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [0.5] * 1000}))
    >>> out[0][["codec", "exact"]].values.tolist()
    [['zlib', True], ['bz2', True]]
    """

    def __init__(self, upstream, codecs, *, stream_name=None) -> None:
        super().__init__(upstream, stream_name=stream_name or "compare")
        self.codecs = [get_codec(c) for c in codecs]
        self.stats = CodecStats()  # rows and batches measured (no frames are passed on)

    def update(self, x: pd.DataFrame, who=None, metadata=None):
        raw = len(to_bytes(x, "csv"))
        rows = []
        for c in self.codecs:
            t0 = time.perf_counter()
            frame = c.encode_frame(x)
            t1 = time.perf_counter()
            back = c.decode_frame(frame)
            t2 = time.perf_counter()
            exact = bool(back.equals(x.reset_index(drop=True))) if c.lossless else None
            rows.append(
                {
                    "codec": c.name,
                    "rows": len(x),
                    "raw_bytes": raw,
                    "bytes": len(frame),
                    "ratio": raw / max(len(frame), 1),
                    "encode_mb_s": raw / 1e6 / max(t1 - t0, 1e-9),
                    "decode_mb_s": raw / 1e6 / max(t2 - t1, 1e-9),
                    "max_error": _max_error(x, back),
                    "exact": exact,
                }
            )
        out = pd.DataFrame(rows)
        self.stats.count_batch(rows=len(x))
        col = x.attrs.get("time_column")
        if col is not None and len(x):
            out.insert(0, "time", x[col].iloc[-1])
        return self.forward(out)
