"""Conformance cases for the other public steps: codecs, learning, drift and anomalies, sinks
(each read back from what it stored or sent), scale-out and the dashboard.

``context`` gives what cases need from the run: ``context.path(suffix)`` a fresh file name in a
temporary folder, ``context.client`` a dask client (set by the test for ``parallel``)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .battery import Case
from .cases_ops import sensor_frame

__all__ = ["STEP_CASES", "Context"]


class Context:
    """What cases take from the test run (see the module docstring)."""

    def __init__(self, tmp: Path | None = None) -> None:
        self._tmp = tmp
        self._n = itertools.count()
        self.client = None

    def path(self, suffix: str) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="streamlab-battery-"))
        return self._tmp / f"case{next(self._n)}{suffix}"


def _with_time(df: pd.DataFrame) -> pd.DataFrame:
    df.attrs["time_column"] = "t"
    return df


def _double(df: pd.DataFrame) -> pd.DataFrame:
    """A function with no state, for ``parallel`` (module level, so it pickles)."""
    return df.assign(v2=df["v"] * 2)


# -- sinks, each read back ------------------------------------------------------------------------
def _sqlite(ctx: Context, table: str = "readings"):
    def make(s):
        return s.to_sqlite(ctx.path(".db"), table)

    def collect(sink):
        from ..store.sqlite import Store

        return Store(sink.path).query(f"SELECT * FROM {table} ORDER BY id")

    return make, collect


def _parquet(ctx: Context):
    def make(s):
        return s.to_parquet(ctx.path(".parquet"), rows_per_file=100)

    def collect(sink):
        import pyarrow.dataset as ds

        out = ds.dataset(str(sink.directory), format="parquet").to_table().to_pandas()
        return out.sort_values("id", kind="stable", ignore_index=True)

    return make, collect


class _Receiver:
    """A real loopback socket that takes what a sink sends (TCP: one connection per read;
    UDP: the datagrams waiting), read after each run: the bytes are parsed with pandas, not
    with streamlab. Closed when the sink that owns it goes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sock = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
        )
        if kind == "udp":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        if kind == "tcp":
            self.sock.listen(4)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    async def read(self) -> bytes:
        loop = asyncio.get_running_loop()
        chunks = []
        if self.kind == "tcp":  # the sink closed its connection when its source stopped
            conn, _ = await asyncio.wait_for(loop.sock_accept(self.sock), 10)
            with conn:
                while chunk := await asyncio.wait_for(loop.sock_recv(conn, 1 << 16), 10):
                    chunks.append(chunk)
        else:
            while True:
                try:
                    chunks.append(self.sock.recv(1 << 16))
                except BlockingIOError:
                    break
        return b"".join(chunks)


def _net(kind: str):
    def make(s):
        rx = _Receiver(kind)
        sink = getattr(s, f"to_{kind}")("127.0.0.1", rx.port)
        sink._battery_receiver = rx
        weakref.finalize(sink, rx.sock.close)
        return sink

    async def collect(sink):
        import io

        data = await sink._battery_receiver.read()
        if kind == "tcp":  # a header on each connection
            return pd.read_csv(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data), header=None, names=COLUMNS)

    return make, collect


COLUMNS = ["t", "k", "v", "n", "y"]
UNENCODABLE = {
    "dtypes:z_object": "a column of mixed Python objects (tuples among text) has no Arrow type: "
    "compress sends that batch whole to .errors with the reason (test_compress_stream)"
}
SECONDS = "Parquet has no seconds unit: pyarrow writes datetime64[s] as milliseconds"


def _csv_reference(df: pd.DataFrame) -> pd.DataFrame:
    """What pandas writes and reads back (the event time as ISO 8601 text, UTC)."""
    import io

    out = df.assign(t=pd.to_datetime(df["t"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return pd.read_csv(
        io.StringIO(out.to_csv(index=False, header=False)), header=None, names=COLUMNS
    )


def _dashboard(ctx: Context):
    def make(s):
        from ..viz import line

        return s.dashboard(
            [line(["v"], x="t", max_points=100_000, rollover=100_000)], live=False, controls=False
        )

    def collect(dash):
        dash.refresh()
        data = dash.plots[0].sources["v"].data
        return pd.DataFrame({"x": np.asarray(data["x"]), "y": np.asarray(data["y"])})

    def reference(df):
        ok = df["v"].notna()
        t = pd.to_datetime(df["t"], utc=True).dt.as_unit("ns")
        return pd.DataFrame(
            {"x": t[ok].astype("int64").to_numpy() / 1e6, "y": df["v"][ok].to_numpy()}
        )

    return make, collect, reference


def STEP_CASES(context: Context | None = None) -> dict[str, list[Case]]:
    ctx = context or Context()
    data = sensor_frame()
    small = sensor_frame(120, seed=1)
    lossless = ("zlib", "zstd", "lz4", "bz2", "lzma", "huffman", "lzw", "timeseries")
    cases: dict[str, list[Case]] = {
        "compress": [
            Case(
                f"compress {codec} then decompress",
                lambda s, codec=codec: s.compress(codec).decompress(codec),
                data,
                time_column="t",
                reference=lambda d: d,
                rows_kept=True,
                not_applicable=UNENCODABLE,
            )
            for codec in lossless
        ],
        "decompress": [
            Case(
                "decompress auto",
                lambda s: s.compress("zstd").decompress("auto"),
                data,
                reference=lambda d: d,
                rows_kept=True,
                not_applicable=UNENCODABLE,
            )
        ],
        "compare": [
            Case(
                "compare zlib and zstd",
                lambda s: s.compare(["zlib", "zstd"]).map(lambda b: b[["codec", "rows", "exact"]]),
                data,
                not_applicable={
                    "batch_cuts": "compare measures each batch as it comes: its rows follow the cuts"
                },
            )
        ],
    }
    from sklearn.linear_model import LinearRegression, SGDClassifier

    def learner(s, **kw):
        return s.learn(
            SGDClassifier(random_state=0), target="y", features=["n"], classes=[0, 1], **kw
        )

    cases["learn"] = [
        Case(
            "learn SGDClassifier, one row at a time",
            lambda s, window=50: learner(s, chunk=1, window=window),
            small,
            time_column="t",
            rows_kept=True,
            params={"window": 50},
        )
    ]
    cases["learn_many"] = [
        Case(
            "learn_many two classifiers, one row at a time",
            lambda s: s.learn_many(
                {"a": SGDClassifier(random_state=0), "b": SGDClassifier(random_state=1)},
                target="y",
                features=["n"],
                classes=[0, 1],
                chunk=1,
            ).map(lambda b: b.drop(columns=["batch", "time"])),
            small,
            time_column="t",
            final=lambda out: out.groupby("model").tail(1).reset_index(drop=True),
        )
    ]
    cases["refit"] = [
        Case(
            "refit LinearRegression per 30min",
            lambda s: s.refit(LinearRegression(), window="30min", target="v", features=["n"]),
            data.dropna(subset=["v"]).reset_index(drop=True).pipe(_with_time),
            time_column="t",
            rtol=1e-9,
        )
    ]
    cases["detect_drift"] = [
        Case(
            f"detect_drift {method}",
            lambda s, method=method: s.detect_drift("v", method=method, key="k"),
            data.fillna({"v": 0.0}),
            time_column="t",
            rows_kept=True,
        )
        for method in ("adwin", "page_hinkley")
    ]
    cases["robust_zscore"] = [
        Case(
            "robust_zscore window 20 by key",
            lambda s, window=20, threshold=3.0: s.robust_zscore(
                "v", window=window, key="k", threshold=threshold
            ),
            data,
            time_column="t",
            rows_kept=True,
            params={"window": 20, "threshold": 3.0},
            rtol=1e-12,
        )
    ]
    cases["ewma_chart"] = [
        Case(
            "ewma_chart",
            lambda s, alpha=0.1: s.ewma_chart("v", alpha=alpha, warmup=10),
            data,
            time_column="t",
            rows_kept=True,
            params={"alpha": 0.1},
            rtol=1e-12,
        )
    ]
    cases["isolation_forest"] = [
        Case(
            "isolation_forest window 64",
            lambda s, window=64: s.isolation_forest("v", window=window, n_estimators=20),
            data,
            time_column="t",
            rows_kept=True,
            params={"window": 64},
        )
    ]
    sq_make, sq_collect = _sqlite(ctx)
    pq_make, pq_collect = _parquet(ctx)
    rows = data.assign(id=np.arange(len(data))).pipe(_with_time)  # sinks: read back by id
    same: dict[str, Any] = {"reference": lambda d: d, "rows_kept": True, "time_column": "t"}
    appends: dict[str, str] = {
        "restart": "append mode: a source started again appends its rows again, as asked "
        "(mode='replace' starts afresh: its own case)"
    }
    no_objects: dict[str, str] = {
        "dtypes:z_object": "SQLite stores numbers, text and bytes: a batch with a column of Python "
        "objects (tuples) is refused whole, with the reason, on .errors (test_sqlite)"
    }
    cases["to_sqlite"] = [
        Case(
            "to_sqlite",
            sq_make,
            rows,
            collect=sq_collect,
            not_applicable={**appends, **no_objects},
            **same,
        ),
        Case(
            "to_sqlite replace",
            lambda s: s.to_sqlite(ctx.path(".db"), "readings", mode="replace"),
            rows,
            collect=sq_collect,
            not_applicable=no_objects,
            **same,
        ),
    ]
    cases["to_parquet"] = [
        Case(
            "to_parquet",
            pq_make,
            rows,
            collect=pq_collect,
            not_applicable={
                **appends,
                "epochs:unit s": SECONDS,
                "dtypes:z_time_s": SECONDS,
                "dtypes:z_object": "Parquet has no type for a column of Python objects (tuples): "
                "the batch is refused whole, with the reason, on .errors (test_parquet)",
            },
            **same,
        )
    ]
    cases["record"] = [
        Case(
            "record to SQLite",
            lambda s: s.record(ctx.path(".db")),
            rows,
            collect=_recording,
            not_applicable={**appends, **no_objects},
            **same,
        )
    ]
    for kind in ("tcp", "udp"):
        make, collect = _net(kind)
        cases[f"to_{kind}"] = [
            Case(f"to_{kind} csv", make, data, reference=_csv_reference, collect=collect)
        ]
    cases["parallel"] = [
        Case(
            "parallel on a dask cluster",
            lambda s: s.parallel(_double, client=ctx.client),
            data,
            time_column="t",
            reference=_double,
            rows_kept=True,
        )
    ]
    d_make, d_collect, d_reference = _dashboard(ctx)
    cases["dashboard"] = [
        Case(
            "dashboard line of v over t",
            d_make,
            data,
            time_column="t",
            reference=d_reference,
            collect=d_collect,
        )
    ]
    return cases


def _recording(sink) -> pd.DataFrame:
    from ..store.sqlite import Store

    path = getattr(sink, "path", None)
    out = Store(path).query("SELECT * FROM recording ORDER BY id")
    return out.drop(columns=[c for c in ("arrival_time",) if c in out.columns])
