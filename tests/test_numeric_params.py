"""Numbers are numbers (issue 14, part A): every public numeric parameter of every public step
and source takes Python and numpy numbers alike, refuses ``True``/``False``, NaN and infinities,
keeps plain Python numbers in its state, and names the parameter, the value and an accepted
example when it refuses one.

One table, one row per parameter. For each row:

- numpy ``int64``/``int32`` (and ``float64``/``float32`` for real parameters) give exactly the
  result of the Python number: the same output batches, the same numbers in the step's state,
  of the same Python types (a numpy scalar kept in the state is a difference); for integer
  parameters a numpy float gives the refusal a Python float gives, word for word;
- ``True`` and ``False`` raise a ConfigError naming the parameter;
- each bad value raises a ConfigError that names the parameter and the value and shows an
  example (``name=...``, ``such as ...`` or ``e.g. ...``) that the step then accepts.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, SGDClassifier
from streamz import Stream

import streamlab
from streamlab.core.checks import shown
from streamlab.errors import ConfigError
from streamlab.sources.serve import ReplayServer
from streamlab.stats import KLL, HyperLogLog, SpaceSaving

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[n // 2 :] += 3.0  # a level shift, so drift detectors and anomaly scores have work to do
    df = pd.DataFrame(
        {
            "time": T0 + pd.to_timedelta(np.arange(n) * 250, unit="ms"),
            "k": rng.integers(0, 3, n).astype(str),
            "x": x,
            "y": (x + rng.normal(scale=0.5, size=n) > 1.5).astype("int64"),
        }
    )
    df.attrs["time_column"] = "time"
    return df


DATA = frame()
BATCHES = [DATA.iloc[a : a + 150] for a in range(0, len(DATA), 150)]


# -- what "the same result" means ---------------------------------------------------------------
#: numbers that tell the clock, not the parameters: they differ from run to run
CLOCK = {"started_at", "lag", "paused_seconds", "_paused_at"}


def numbers_in(obj, depth: int = 3, seen=None) -> dict:
    """The numbers an object holds (attributes, dicts of them, streamlab objects inside it), with
    their types: a numpy scalar where a Python number was kept shows up as a difference."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return {}
    seen.add(id(obj))
    items = obj.items() if isinstance(obj, dict) else getattr(obj, "__dict__", {}).items()
    out: dict = {}
    for name, v in items:
        if isinstance(v, bool | np.bool_) or name in CLOCK:
            continue
        if isinstance(v, int | float | np.generic):
            out[str(name)] = (type(v).__name__, v)
        elif isinstance(v, dict) or type(v).__module__.startswith("streamlab"):
            inner = numbers_in(v, depth - 1, seen)
            out.update({f"{name}.{k}": w for k, w in inner.items()})
    return out


def assert_same(a, b, where: str = "result") -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), where
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, a.keys(), b)
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b), (where, a, b)
        both_nan = isinstance(a, float) and math.isnan(a) and math.isnan(b)
        assert both_nan or a == b, (where, a, b)


def run_step(build: Callable, *, before: Callable | None = None) -> dict:
    """Feed the batches through ``build(src)``; the output and the numbers the step holds."""
    src = Stream()
    node = build(src)
    out = node.sink_to_list()
    if before is not None:
        before(node)
    for b in BATCHES:
        src.emit(b)
    if hasattr(node, "end_of_input"):
        node.end_of_input()
    frames = [o for o in out if isinstance(o, pd.DataFrame)]
    result = pd.concat(frames, ignore_index=True) if frames else None
    return {
        "out": result,
        "state": numbers_in(node),
        "bytes": [o for o in out if isinstance(o, bytes)],
    }


def outcome(case: Case, value):
    try:
        return ("ok", case.run(value))
    except ConfigError as exc:
        return ("refused", str(exc))


# -- the table ----------------------------------------------------------------------------------
@dataclass
class Case:
    id: str  # where: "window.size"
    name: str  # the parameter's name, as a message names it
    run: Callable[[Any], Any]  # builds (and runs) the step or source with this value
    good: int | float  # an accepted value (exact in float32 for real parameters)
    integer: bool
    bad: tuple = ()  # values to refuse, besides True/False (and NaN/inf for real parameters)
    whole: int | None = None  # real parameters: an accepted integral value
    #: test -> reason, for checks missing in files this change does not own ("numpy", "bool",
    #: "bad": the three tests below)


class Fresh:
    """An argument made afresh for each run (an estimator learns in place)."""

    def __init__(self, make: Callable) -> None:
        self.make = make


def _fresh(args: tuple, kw: dict) -> tuple[list, dict]:
    made = [a.make() if isinstance(a, Fresh) else a for a in args]
    return made, {k: v.make() if isinstance(v, Fresh) else v for k, v in kw.items()}


def step(method: str, /, *args, **fixed):
    """A case runner: ``src.method(*args, **fixed, **{param: value})`` over the batches."""

    def runner(param: str):
        def run(value):
            a, kw = _fresh(args, fixed)
            return run_step(lambda s: getattr(s, method)(*a, **kw, **{param: value}))

        return run

    return runner


def tuned(method: str, param: str, /, *args, **fixed):
    """A case runner for ``set_param(param, value)`` before the batches."""

    def run(value):
        a, kw = _fresh(args, fixed)
        return run_step(
            lambda s: getattr(s, method)(*a, **kw), before=lambda node: node.set_param(param, value)
        )

    return run


def sgd():
    return SGDClassifier(loss="log_loss", random_state=0, learning_rate="constant", eta0=0.1)


def join_run(param: str):
    def run(value):
        right = Stream()

        def build(s):
            node = s.asof_join(right, on="time", by="k", **{param: value})
            right.emit(DATA[["time", "k", "x"]].rename(columns={"x": "q"}).iloc[::7])
            return node

        return run_step(build)

    return run


def sketch_run(make: Callable, use: Callable = lambda s: s) -> Callable:
    def run(value):
        sk = make(value)
        sk.update(DATA["x"].to_numpy())
        return {"value": use(sk), "state": numbers_in(sk)}

    return run


def source_run(make: Callable, *, run_it: bool, paced: bool = False) -> Callable:
    """Build a source (and run it to its end when ``run_it``): its output and numbers. Its
    ``accept`` only builds it (an example such as ``rows=None`` is an endless source)."""

    def run(value):
        src = make(value)
        if not run_it:
            return {"state": numbers_in(src)}
        out = src.sink_to_list()
        streamlab.run(src)
        state = numbers_in(src)
        if paced:  # how rows due together leave together depends on the clock
            for k in ("stats.batches", "stats.bytes"):  # a generator's bytes are per batch
                state.pop(k, None)
        return {"out": pd.concat(out, ignore_index=True), "state": state}

    run.accept = make
    return run


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("numeric") / "data.csv"
    DATA.to_csv(path, index=False)
    return path


def sink_run(make: Callable, *, read: Callable | None = None) -> Callable:
    def run(value):
        src = Stream()
        node = make(src, value)
        for b in BATCHES:
            src.emit(b)
        result = {"state": numbers_in(node)}
        if read is not None:
            result["read"] = read(node)
        if hasattr(node, "close"):
            closed = node.close()
            if hasattr(closed, "close"):  # a coroutine nobody will await
                closed.close()
        return result

    return run


def fresh(csv) -> Path:
    """A new empty folder beside the CSV, for one run of a sink."""
    return Path(tempfile.mkdtemp(dir=csv.parent))


def parquet_files(node) -> list:
    files = sorted(Path(node.directory).rglob("*.parquet"))
    return [(f.name, len(pd.read_parquet(f))) for f in files]


W = step("window", agg={"x": ["sum", "count", "mean"]})
ROLL = step("rolling", agg={"x": ["mean", "max"]})
LEARN = step("learn", Fresh(sgd), target="y", features=["x"], classes=[0, 1])
MANY = step(
    "learn_many",
    Fresh(lambda: {"a": sgd(), "b": sgd()}),
    target="y",
    features=["x"],
    classes=[0, 1],
)
REFIT = step("refit", Fresh(LinearRegression), target="x", features=["y"], on="time")
ADWIN = step("detect_drift", "x", method="adwin")
PH = step("detect_drift", "x", method="page_hinkley")
DDM = step("detect_drift", "y", method="ddm")
RZ = step("robust_zscore", "x", key="k")
EWMA = step("ewma_chart", "x", key="k")
IFOREST = step("isolation_forest", "x", window=150, n_estimators=10)


def I(id_: str, run, good: int, bad: tuple, **kw) -> Case:  # noqa: E743 - an integer parameter
    return Case(id_, re.search(r"(\w+)\)?$", id_)[1], run, good, True, bad=bad, **kw)


def R(id_: str, run, good: float, bad: tuple, whole: int | None, **kw) -> Case:  # a real one
    return Case(id_, re.search(r"(\w+)\)?$", id_)[1], run, good, False, bad, whole, **kw)


def cases(csv) -> list[Case]:
    return [
        # -- steps: ops ------------------------------------------------------------------------
        I("window.size", W("size"), 100, (0, -5, 2.5)),
        I("window(on=).size", step("window", on="time", agg={"x": ["sum"]})("size"), 100, (0,)),
        I("rolling.window", ROLL("window"), 20, (0, 2.5)),
        I(
            "rolling.set_param(window)",
            tuned("rolling", "window", 5, agg={"x": ["mean"]}),
            20,
            (0, 2.5),
        ),
        I("asof_join.max_pending", join_run("max_pending"), 50, (0, 1.5)),
        I("asof_join.max_right", join_run("max_right"), 40, (0, 1.5)),
        # -- steps: learn ----------------------------------------------------------------------
        I("learn.window", LEARN("window"), 50, (0, 2.5)),
        I("learn.chunk", LEARN("chunk"), 16, (0, 2.5)),
        I("learn.memory", LEARN("memory"), 100, (0, 2.5)),
        R(
            "learn.set_param(learning_rate)",
            tuned("learn", "learning_rate", Fresh(sgd), target="y", features=["x"], classes=[0, 1]),
            0.5,
            (0, -1.0),
            1,
        ),
        I("learn_many.window", MANY("window"), 50, (0, 2.5)),
        I("learn_many.chunk", MANY("chunk"), 16, (0, 2.5)),
        I("learn_many.memory", MANY("memory"), 100, (0, 2.5)),
        I("refit.window", REFIT("window"), 100, (0, 2.5)),
        R(
            "refit.holdout",
            step(
                "refit",
                Fresh(LinearRegression),
                window="30s",
                target="x",
                features=["y"],
                on="time",
            )("holdout"),
            0.25,
            (-0.5, 1.5),
            0,
        ),
        I(
            "refit.seed",
            step("refit", Fresh(LinearRegression), window=100, target="x", features=["y"])("seed"),
            3,
            (-1, 2.5),
        ),
        R("detect_drift(adwin).delta", ADWIN("delta"), 2.0**-9, (0, 1.5), 1),
        I("detect_drift(adwin).clock", ADWIN("clock"), 16, (0, 2.5)),
        I("detect_drift(adwin).max_buckets", ADWIN("max_buckets"), 4, (1, 2.5)),
        I("detect_drift(adwin).min_window_length", ADWIN("min_window_length"), 8, (0, 2.5)),
        I("detect_drift(adwin).grace_period", ADWIN("grace_period"), 20, (-1, 2.5)),
        I("detect_drift(page_hinkley).min_instances", PH("min_instances"), 20, (0, 2.5)),
        R("detect_drift(page_hinkley).delta", PH("delta"), 2.0**-7, (-1.0,), 0),
        R("detect_drift(page_hinkley).threshold", PH("threshold"), 10.0, (0, -1.0), 10),
        R("detect_drift(page_hinkley).alpha", PH("alpha"), 1 - 2.0**-11, (0, 1.5), 1),
        R("detect_drift(ddm).warning", DDM("warning"), 1.5, (-1.0,), 2),
        R("detect_drift(ddm).drift", DDM("drift"), 3.5, (1.0,), 4),
        I("detect_drift(ddm).min_instances", DDM("min_instances"), 20, (-1, 2.5)),
        R(
            "detect_drift.set_param(delta)",
            tuned("detect_drift", "delta", "x", method="adwin"),
            2.0**-9,
            (0, 1.5),
            1,
        ),
        R(
            "detect_drift.set_param(threshold)",
            tuned("detect_drift", "threshold", "x", method="page_hinkley"),
            10.0,
            (0,),
            10,
        ),
        I("robust_zscore.window", RZ("window"), 50, (1, 2.5)),
        R("robust_zscore.threshold", RZ("threshold"), 2.5, (0,), 3),
        I("robust_zscore.min_periods", RZ("min_periods"), 5, (0, 2.5)),
        R(
            "robust_zscore.set_param(threshold)",
            tuned("robust_zscore", "threshold", "x"),
            2.5,
            (0, -1.0),
            3,
        ),
        R("ewma_chart.alpha", EWMA("alpha"), 0.125, (0, 1.5), 1),
        R("ewma_chart.alpha_var", EWMA("alpha_var"), 0.0625, (0, 1.5), 1),
        R("ewma_chart.threshold", EWMA("threshold"), 2.5, (0,), 3),
        I("ewma_chart.warmup", EWMA("warmup"), 10, (1, 2.5)),
        I(
            "isolation_forest.window",
            step("isolation_forest", "x", n_estimators=10)("window"),
            150,
            (1, 2.5),
        ),
        R("isolation_forest.threshold", IFOREST("threshold"), 0.625, (0,), 1),
        R(
            "isolation_forest.contamination",
            step("isolation_forest", "x", window=150, n_estimators=10, threshold=None)(
                "contamination"
            ),
            0.0625,
            (0, 0.75),
            None,
        ),
        I(
            "isolation_forest.n_estimators",
            step("isolation_forest", "x", window=150)("n_estimators"),
            10,
            (0, 2.5),
        ),
        I("isolation_forest.seed", IFOREST("seed"), 7, (-1, 2.5)),
        # -- steps: compress (codec parameters; decompress takes the same) ------------------------
        I("compress(zlib).level", step("compress", "zlib")("level"), 6, (10, 2.5)),
        I("compress(bz2).level", step("compress", "bz2")("level"), 9, (0, 2.5)),
        I("compress(lzma).level", step("compress", "lzma")("level"), 6, (10, 2.5)),
        I("compress(zstd).level", step("compress", "zstd")("level"), 3, (23, 2.5)),
        I(
            "compress(huffman).block_size",
            step("compress", "huffman")("block_size"),
            65536,
            (10, 2.5),
        ),
        I("compress(lzw).max_bits", step("compress", "lzw")("max_bits"), 12, (8, 2.5)),
        I(
            "compress(timeseries).level",
            step("compress", "timeseries")("level"),
            5,
            (23, 2.5),
        ),
        R(
            "compress(quantize).max_error",
            step("compress", "quantize")("max_error"),
            0.125,
            (0, -1.0),
            1,
        ),
        R("compress(deadband).deadband", step("compress", "deadband")("deadband"), 0.125, (0,), 1),
        R(
            "compress(swinging_door).deviation",
            step("compress", "swinging_door")("deviation"),
            0.125,
            (0,),
            1,
        ),
        # -- sinks ---------------------------------------------------------------------------------
        R(
            "to_sqlite.timeout",
            sink_run(lambda s, v: s.to_sqlite(fresh(csv) / "t.db", "t", timeout=v)),
            2.5,
            (-1.0,),
            5,
        ),
        I("to_udp.port", sink_run(lambda s, v: s.to_udp("127.0.0.1", v)), 9, (0, 70000, 2.5)),
        I(
            "to_udp.max_datagram",
            sink_run(lambda s, v: s.to_udp("127.0.0.1", 9, max_datagram=v)),
            1024,
            (0, 70000, 2.5),
        ),
        I(
            "to_tcp.port",
            sink_run(lambda s, v: Stream().to_tcp("127.0.0.1", v)),
            9,
            (0, 70000, 2.5),
        ),
        R(
            "to_tcp.backoff",
            sink_run(lambda s, v: Stream().to_tcp("127.0.0.1", 9, backoff=v)),
            0.25,
            (0,),
            1,
        ),
        R(
            "to_tcp.max_backoff",
            sink_run(lambda s, v: Stream().to_tcp("127.0.0.1", 9, max_backoff=v)),
            2.5,
            (0.01,),
            3,
        ),
        I(
            "to_parquet.rows_per_file",
            sink_run(
                lambda s, v: s.to_parquet(fresh(csv) / "p", rows_per_file=v), read=parquet_files
            ),
            250,
            (0, 2.5),
        ),
        I(
            "to_parquet.row_group_rows",
            sink_run(
                lambda s, v: s.to_parquet(fresh(csv) / "p", row_group_rows=v), read=parquet_files
            ),
            100,
            (0, 2.5),
        ),
        I(
            "record.rows_per_file",
            sink_run(
                lambda s, v: s.record(fresh(csv) / "r.parquet", rows_per_file=v), read=parquet_files
            ),
            250,
            (0, 2.5),
        ),
        # -- sources -------------------------------------------------------------------------------
        I(
            "generate.rows",
            gen("rows"),
            300,
            (-1, 2.5),
        ),
        R("generate.rate", gen("rate"), 500.0, (0, -1.0), 500),
        I(
            "generate.batch_rows",
            gen("batch_rows"),
            64,
            (0, 2.5),
        ),
        R("generate.speed", gen("speed", paced=True), 1000.0, (-1.0,), 1000),
        I("generate.keys", gen("keys"), 2, (0, 2.5)),
        I("generate.seed", gen("seed"), 5, (2.5,)),
        R("generate.noise", gen("noise"), 0.5, (-1.0,), 1),
        I("generate.drift_at", gen("drift_at"), 100, (-1, 2.5)),
        R("generate.drift", gen("drift"), 2.5, (), 2),
        R("generate.anomaly_rate", gen("anomaly_rate"), 0.125, (-0.5, 1.5), 0),
        R("generate.anomaly_size", gen("anomaly_size"), 4.0, (-1.0,), 4),
        R(
            "replay.speed",
            source_run(lambda v: streamlab.replay(csv, speed=v), run_it=True, paced=True),
            1000.0,
            (-1.0,),
            0,
        ),
        I(
            "replay.max_rows",
            source_run(lambda v: streamlab.replay(csv, speed=0, max_rows=v), run_it=True),
            50,
            (0, 2.5),
        ),
        I(
            "replay.max_record",
            source_run(lambda v: streamlab.replay(csv, speed=0, max_record=v), run_it=True),
            1000,
            (0, 2.5),
        ),
        I(
            "from_tcp.port",
            source_run(lambda v: streamlab.from_tcp("127.0.0.1", v), run_it=False),
            9999,
            (0, 70000, 2.5),
        ),
        R("from_tcp.backoff", tcp("backoff"), 0.25, (0,), 1),
        R("from_tcp.max_backoff", tcp("max_backoff"), 2.5, (0.01,), 3),
        I("from_tcp.max_rows", tcp("max_rows"), 100, (0, 2.5)),
        I("from_tcp.max_record", tcp("max_record"), 1000, (0, 2.5)),
        I("from_tcp.max_buffer", tcp("max_buffer"), 4096, (0, 2.5)),
        I(
            "listen_tcp.port",
            source_run(lambda v: streamlab.listen_tcp(v), run_it=False),
            0,
            (-1, 70000, 2.5),
        ),
        I(
            "listen_tcp.backlog",
            source_run(lambda v: streamlab.listen_tcp(0, backlog=v), run_it=False),
            10,
            (0, 2.5),
        ),
        I(
            "listen_tcp.max_rows",
            source_run(lambda v: streamlab.listen_tcp(0, max_rows=v), run_it=False),
            100,
            (0, 2.5),
        ),
        I(
            "listen_tcp.max_record",
            source_run(lambda v: streamlab.listen_tcp(0, max_record=v), run_it=False),
            1000,
            (0, 2.5),
        ),
        I(
            "listen_tcp.max_buffer",
            source_run(lambda v: streamlab.listen_tcp(0, max_buffer=v), run_it=False),
            4096,
            (0, 2.5),
        ),
        I(
            "from_udp.port",
            source_run(lambda v: streamlab.from_udp(v), run_it=False),
            0,
            (-1, 70000, 2.5),
        ),
        I(
            "from_udp.max_datagrams",
            source_run(lambda v: streamlab.from_udp(0, max_datagrams=v), run_it=False),
            100,
            (0, 2.5),
        ),
        I(
            "from_udp.receive_buffer",
            source_run(lambda v: streamlab.from_udp(0, receive_buffer=v), run_it=False),
            65536,
            (-1, 2.5),
        ),
        I(
            "serve.port",
            source_run(lambda v: ReplayServer(csv, port=v), run_it=False),
            0,
            (-1, 70000, 2.5),
        ),
        R(
            "serve.speed",
            source_run(lambda v: ReplayServer(csv, speed=v), run_it=False),
            2.5,
            (-1.0,),
            2,
        ),
        I(
            "source.step(n)",
            source_run(_stepped, run_it=False),
            3,
            (0, 2.5),
        ),
        R("run(timeout)", _timed_run, 5.0, (0, -1.0), 5),
        R(
            "generate.set_param(speed)",
            source_run(_speed_set, run_it=True, paced=True),
            1000.0,
            (-1.0,),
            1000,
        ),
        # -- sketches (streamlab.stats) -------------------------------------------------------------
        I("KLL.k", sketch_run(lambda v: KLL(k=v), lambda s: s.quantile(0.5)), 64, (4, 2.5)),
        I("KLL.seed", sketch_run(lambda v: KLL(seed=v), lambda s: s.quantile(0.5)), 3, (-1, 2.5)),
        R("KLL.quantile(q)", lambda v: _kll().quantile(v), 0.5, (1.5, -0.5), 1),
        I(
            "HyperLogLog.p",
            sketch_run(lambda v: HyperLogLog(p=v), lambda s: s.count()),
            10,
            (3, 19, 2.5),
        ),
        I(
            "SpaceSaving.capacity",
            sketch_run(lambda v: SpaceSaving(capacity=v), lambda s: s.top(3)),
            50,
            (0, 2.5),
        ),
        I("SpaceSaving.top(k)", lambda v: _space().top(v), 3, (-1, 2.5)),
        # -- the cluster for stream.parallel (nothing starts until it is awaited) ---------------
        I("cluster.n_workers", lambda v: numbers_in(streamlab.cluster(v)), 2, (0, 2.5)),
        I(
            "cluster.threads_per_worker",
            lambda v: numbers_in(streamlab.cluster(1, threads_per_worker=v)),
            2,
            (0, 2.5),
        ),
    ]


def tcp(param: str):
    return source_run(lambda v: streamlab.from_tcp("127.0.0.1", 9999, **{param: v}), run_it=False)


def gen(param: str, *, paced: bool = False):
    return source_run(
        lambda v: streamlab.generate("bursts", **{"rows": 300, param: v}), run_it=True, paced=paced
    )


def _speed_set(value):
    src = streamlab.generate("bursts", rows=300)
    src.set_param("speed", value)
    return src


def _stepped(value):
    src = streamlab.generate("noise", rows=10)
    src.step(value)
    return src


def _timed_run(value):
    src = streamlab.generate("noise", rows=50)
    stats = streamlab.run(src, timeout=value)
    return stats[0].rows


def _kll():
    sk = KLL(seed=1)
    sk.update(DATA["x"].to_numpy())
    return sk


def _space():
    sk = SpaceSaving(capacity=20)
    sk.update(DATA["k"].to_numpy())
    return sk


CASES = cases(Path("unused"))  # for the ids and marks; the tests run `table`'s cases


def params(test: str):
    """The case ids (``test`` names the property; every case has all of them)."""
    return [pytest.param(c.id, id=c.id) for c in CASES]


@pytest.fixture(scope="module")
def table(csv_path) -> dict[str, Case]:
    return {c.id: c for c in cases(csv_path)}


# -- the three properties -----------------------------------------------------------------------
@pytest.mark.parametrize("case_id", params("numpy"))
def test_numpy_scalars_give_the_python_result(table, case_id):
    case = table[case_id]
    python = outcome(case, case.good)
    assert python[0] == "ok", python
    if case.integer:
        pairs = [(np.int64(case.good), case.good), (np.int32(case.good), case.good)]
        pairs += [(np.float64(case.good), float(case.good))]  # refused alike, word for word
    else:
        pairs = [(np.float64(case.good), case.good), (np.float32(case.good), case.good)]
        if case.whole is not None:
            pairs += [(np.int64(case.whole), case.whole), (np.int32(case.whole), case.whole)]
    for numpy_value, python_value in pairs:
        expected = python if python_value is case.good else outcome(case, python_value)
        got = outcome(case, numpy_value)
        assert got[0] == expected[0], (numpy_value, got, expected)
        assert_same(got[1], expected[1], f"{case_id} with {numpy_value!r}")


@pytest.mark.parametrize("case_id", params("bool"))
@pytest.mark.parametrize("flag", [True, False, np.True_, np.False_], ids=str)
def test_true_and_false_are_not_numbers(table, case_id, flag):
    case = table[case_id]
    with pytest.raises(ConfigError) as info:
        case.run(flag)
    assert re.search(rf"\b{re.escape(case.name)}\b", str(info.value)), str(info.value)


_EXAMPLE = r"\b{name}=(-?[\w.']+)|such as (-?[\d.]+|'\w+')|e\.g\. (-?[\d.]+)"


@pytest.mark.parametrize("case_id", params("bad"))
def test_a_bad_value_is_named_with_an_accepted_example(table, case_id):
    case = table[case_id]
    bad = list(case.bad) + ([] if case.integer else [math.nan, math.inf, -math.inf])
    assert bad
    for value in bad:
        for given in (value, np.float64(value) if isinstance(value, float) else np.int64(value)):
            with pytest.raises(ConfigError) as info:
                case.run(given)
            message = str(info.value)
            assert re.search(rf"\b{re.escape(case.name)}\b", message), message
            assert shown(value) in message, (shown(value), message)
            found = re.search(_EXAMPLE.format(name=re.escape(case.name)), message)
            assert found, f"no example in {message!r}"
            example = ast.literal_eval(next(g for g in found.groups() if g is not None))
            accept = getattr(case.run, "accept", case.run)
            accept(example)  # raises if the example is refused


# -- the reported case: a count window of numpy size ---------------------------------------------
@pytest.mark.parametrize("size", [100, np.int64(100), np.int32(100), np.uint16(100)], ids=repr)
@pytest.mark.parametrize("on", [None, "time"])
@pytest.mark.parametrize("cuts", [[600], [1, 99, 100, 101, 450], [37] * 17])
def test_a_numpy_size_is_a_count_window_equal_to_groupby(size, on, cuts):
    src = Stream()
    w = src.window(size, on=on, agg={"x": ["count", "sum", "mean", "min", "max"]})
    out = w.sink_to_list()
    edges = np.cumsum([0, *cuts])
    edges = np.unique(np.minimum(edges, len(DATA)))
    for a, b in itertools.pairwise(edges):
        src.emit(DATA.iloc[a:b])
    w.end_of_input()
    got = pd.concat(out, ignore_index=True)
    ref = DATA.groupby(np.arange(len(DATA)) // 100)["x"].agg(["count", "sum", "mean", "min", "max"])
    assert w.rows == 100 and type(w.rows) is int
    assert got["window"].tolist() == ref.index.tolist()
    for a in ref.columns:
        np.testing.assert_allclose(got[f"x_{a}"].to_numpy(), ref[a].to_numpy(), rtol=1e-12)
    if on is not None:  # a count window's bounds are its first and last row's times
        firsts = DATA["time"].iloc[::100].reset_index(drop=True).dt.as_unit("ns")
        pd.testing.assert_series_equal(got["window_start"], firsts, check_names=False)


# -- durations: a bare number has no unit (it would be read as nanoseconds) ------------------------
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda s: s.window("1h", slide=np.int64(600), on="time", agg={"x": ["sum"]}), "slide"),
        (
            lambda s: s.window("1h", on="time", allowed_lateness=5, agg={"x": ["sum"]}),
            "allowed_lateness",
        ),
        (
            lambda s: s.window(
                "1h", on="time", retain=np.float64(60), late="update", agg={"x": ["sum"]}
            ),
            "retain",
        ),
        (lambda s: s.window(100.0, agg={"x": ["sum"]}), "size"),
        (lambda s: s.window(np.float64(100), agg={"x": ["sum"]}), "size"),
        (lambda s: s.window(True, agg={"x": ["sum"]}), "size"),
        (lambda s: s.window("100", on="time", agg={"x": ["sum"]}), "size"),
        (lambda s: s.session_window(30, on="time", agg={"x": ["sum"]}), "gap"),
        (lambda s: s.session_window("30", on="time", agg={"x": ["sum"]}), "gap"),
        (lambda s: s.asof_join(Stream(), on="time", tolerance=2), "tolerance"),
        (lambda s: s.asof_join(Stream(), on="time", lateness=np.int64(30)), "lateness"),
        (lambda s: s.rolling("30", agg={"x": ["mean"]}), "window"),
        (lambda s: s.rolling(30.0, agg={"x": ["mean"]}), "window"),
        (lambda s: s.window("1h", on="time", agg={"x": ["ewma:30"]}), "ewma"),
        (lambda s: s.refit(LinearRegression(), window="500", target="x"), "window"),
        (lambda s: s.refit(LinearRegression(), window=np.float64(500), target="x"), "window"),
        (lambda s: s.robust_zscore("x", window="30"), "window"),
    ],
)
def test_a_bare_number_is_not_a_duration(call, name):
    with pytest.raises(ConfigError) as info:
        call(Stream())
    assert re.search(rf"\b{name}\b", str(info.value)), str(info.value)


def test_zero_lateness_may_be_written_as_a_number():
    w = Stream().window("1h", on="time", allowed_lateness=0, agg={"x": ["sum"]})
    assert w.lateness == 0


# -- a numpy timedelta64 is a duration, though numpy makes it an integer type -------------------
@pytest.mark.parametrize(
    ("build", "as_text"),
    [
        (lambda s, d: s.window(d, on="time", agg={"x": ["sum", "count"]}), "15min"),
        (lambda s, d: s.window("1h", slide=d, on="time", agg={"x": ["sum"]}), "15min"),
        (lambda s, d: s.session_window(d, on="time", key="k", agg={"x": ["sum"]}), "15min"),
        (lambda s, d: s.rolling(d, on="time", agg={"x": ["mean"]}), "15min"),
        (lambda s, d: s.robust_zscore("x", window=d, on="time", min_periods=2), "15min"),
        (
            lambda s, d: s.refit(
                LinearRegression(), window=d, on="time", target="x", features=["y"]
            ),
            "15min",
        ),
    ],
    ids=["window", "slide", "session_window", "rolling", "robust_zscore", "refit"],
)
def test_a_numpy_timedelta64_is_the_duration_it_holds(build, as_text):
    """``isinstance(np.timedelta64(15, "m"), numbers.Integral)`` is True: taken as a count it
    was a 900-row window, or an error; it is the 15 minutes it says."""
    results = [
        run_step(lambda s, d=d: build(s, d))["out"] for d in (as_text, np.timedelta64(15, "m"))
    ]
    pd.testing.assert_frame_equal(results[0], results[1])


@pytest.mark.parametrize(
    "call",
    [
        lambda: Stream().learn(sgd(), target="y", window=np.timedelta64(5, "s")),
        lambda: Stream().asof_join(Stream(), on="time", max_pending=np.timedelta64(5, "s")),
        lambda: HyperLogLog(p=np.timedelta64(12, "ns")),
        lambda: streamlab.listen_tcp(np.timedelta64(0, "s")),
    ],
    ids=["learn.window", "asof_join.max_pending", "HyperLogLog.p", "listen_tcp.port"],
)
def test_a_numpy_timedelta64_is_not_a_count(call):
    with pytest.raises(ConfigError):
        call()
