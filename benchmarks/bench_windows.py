"""Windows on event time against the peers, same data, same run.

    python benchmarks/bench_windows.py [--rows 10000000] [--quick] [--busy] [--out FILE]

Rows (one table, JSON written to benchmarks/results/windows.json, ``results.rates``):
1. streamlab ``window("1min", agg={"v": ["mean", "max", "count"]})``, batches of 100k and of
   1M rows (the batch a replay or a socket hands over is at most ``max_rows``, 100k by default);
2. streamz, per element: tumbling windows of the same size as ``partition(6000)`` (1 min at
   the 10 ms spacing) then mean/max/count, on a 300k-event subset (it is ~100x slower);
3. pandas ``resample("1min").agg(["mean", "max", "count"])`` on the whole frame in memory;
4. keyed, 10k keys: streamlab rows/s, open windows and state bytes sampled after every batch,
   against pandas ``groupby([Grouper(freq="1min"), "k"])``.
Targets (issue 3): streamlab >= 20x streamz, >= 0.5x pandas resample; keyed state bounded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _harness import Run, check, defaults, parse, parser, ratio, repeat
from streamz import Stream

import streamlab  # noqa: F401  (registers stream.window)

AGG = {"v": ["mean", "max", "count"]}


def data(rows: int, keys: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows) * 10, unit="ms")
    return pd.DataFrame({"t": t, "v": rng.normal(size=rows), "k": rng.integers(0, keys, rows)})


def best(fn, repeats: int) -> float:
    return repeat(fn, repeats).best


def streamlab_run(df: pd.DataFrame, batch: int, key=None, sample=None):
    src = Stream()
    w = src.window("1min", on="t", key=key, agg=AGG)
    rows = [0]
    w.sink(lambda out: rows.__setitem__(0, rows[0] + len(out)))
    for i in range(0, len(df), batch):
        src.emit(df.iloc[i : i + batch])
        if sample is not None:
            state = 0 if w.state is None else int(w.state.memory_usage(index=True).sum())
            sample.append((w.stats.open_windows, state))
    w.end_of_input()
    return rows[0]


def streamz_run(values: np.ndarray, size: int) -> int:
    src = Stream()
    out = src.partition(size).map(lambda w: (sum(w) / len(w), max(w), len(w))).sink_to_list()
    for v in values:
        src.emit(v)
    return len(out)


def main(argv=None) -> int:
    p = parser("windows", __doc__)
    p.add_argument("--rows", type=int, help="10M; quick 1M")
    p.add_argument("--streamz-events", type=int, help="300k; quick 100k")
    a = parse(p, argv)
    defaults(a, rows=(1_000_000, 10_000_000), streamz_events=(100_000, 300_000), repeats=(2, 3))
    with Run("windows", a) as run:
        res = run.section("rates", measure, a)
    ratios = {}
    if "error" not in res:
        ratios = {
            "streamlab_100k_over_streamz": res["streamlab_batch_100000"]
            / res["streamz_per_element"],
            "streamlab_1M_over_pandas_resample": res["streamlab_batch_1000000"]
            / res["pandas_resample"],
            "streamlab_100k_over_pandas_resample": res["streamlab_batch_100000"]
            / res["pandas_resample"],
            "keyed_streamlab_over_pandas_groupby": res["streamlab_keyed_10k"]
            / res["pandas_groupby_keyed_10k"],
        }
        run.results["ratios"] = ratios
    g = res.get
    checks = [
        check("streamlab (100k batches) / streamz",
              ratio(g("streamlab_batch_100000"), g("streamz_per_element")), 20),
        check("streamlab (1M batches) / pandas resample",
              ratio(g("streamlab_batch_1000000"), g("pandas_resample")), 0.5),
    ]  # fmt: skip
    return run.finish(
        config={"rows": a.rows, "streamz_events": a.streamz_events, "repeats": a.repeats},
        targets=checks,
        report=report(a, res, ratios) if "error" not in res else [],
    )


def measure(a) -> dict:
    df = data(a.rows, 10_000)
    res: dict = {}
    for batch in (100_000, 1_000_000):
        sec = best(lambda b=batch: streamlab_run(df, b), a.repeats)
        res[f"streamlab_batch_{batch}"] = a.rows / sec
    values = df["v"].to_numpy()[: a.streamz_events].tolist()
    sec = best(lambda: streamz_run(values, 6000), 1)
    res["streamz_per_element"] = a.streamz_events / sec
    frame = df.set_index("t")["v"]
    sec = best(lambda: frame.resample("1min").agg(["mean", "max", "count"]), a.repeats)
    res["pandas_resample"] = a.rows / sec
    samples: list = []
    sec = best(lambda: streamlab_run(df, 100_000, key="k", sample=samples), 1)
    res["streamlab_keyed_10k"] = a.rows / sec
    grouper = [pd.Grouper(key="t", freq="1min"), "k"]
    sec = best(lambda: df.groupby(grouper)["v"].agg(["mean", "max", "count"]), 1)
    res["pandas_groupby_keyed_10k"] = a.rows / sec
    opened = [o for o, _ in samples]
    state = [s for _, s in samples]
    res["keyed_open_windows_max"] = max(opened)
    res["keyed_state_bytes_first_last_max"] = [state[0], state[-1], max(state)]
    return res


def report(a, res: dict, ratios: dict) -> list[str]:
    rows = [
        ("streamlab window 1min mean/max/count, 100k-row batches", res["streamlab_batch_100000"]),
        ("streamlab window, 1M-row batches", res["streamlab_batch_1000000"]),
        (
            f"streamz partition(6000) per element ({a.streamz_events:,} events)",
            res["streamz_per_element"],
        ),
        ("pandas resample('1min') on the whole frame", res["pandas_resample"]),
        ("streamlab keyed (10k keys), 100k-row batches", res["streamlab_keyed_10k"]),
        (
            "pandas groupby([Grouper('1min'), k]) on the whole frame",
            res["pandas_groupby_keyed_10k"],
        ),
    ]
    lines = [f"windows over {a.rows:,} rows (10 ms apart, 1-minute windows)"]
    lines += [f"  {label:<62} {rate / 1e6:8.2f}M rows/s" for label, rate in rows]
    lines.append(
        f"  keyed: open windows max {res['keyed_open_windows_max']:,}; state bytes first/last/"
        f"max {res['keyed_state_bytes_first_last_max']}"
    )
    lines.append(
        f"  (context: streamlab 100k batches / pandas resample "
        f"{ratios['streamlab_100k_over_pandas_resample']:.2f}x; keyed / pandas groupby "
        f"{ratios['keyed_streamlab_over_pandas_groupby']:.2f}x)"
    )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
