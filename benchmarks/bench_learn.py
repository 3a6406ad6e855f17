"""Online learning against River and per-row scikit-learn: same data, same run.

    python benchmarks/bench_learn.py [--quick] [--repeats 3] [--out FILE]

Data: the labelled datasets River ships as files inside its package (no download): Phishing
(UCI, 1,250 rows, binary), Bananas (OpenML 1460, 5,300 rows, binary), ImageSegments (UCI
Statlog segment, 2,310 rows, 7 classes) and Shuttle (UCI Statlog shuttle as in ODDS, 49,097
rows, binary). They are read with River's own iterators, written once to a temporary CSV,
and only read here (nothing is copied into this repository).

Rows, per dataset, all test-then-train over the whole dataset in its order:
1. streamlab: ``streamlab.replay(csv, speed=0, max_rows=500)`` (adaptive batches of at most
   500 rows) -> ``learn(SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01,
   alpha=0), transform=RunningScaler(), chunk="auto")``: the same model as River's
   LogisticRegression (plain SGD, learning rate 0.01, no L2), fed in micro-batches. Timed
   around ``streamlab.run`` (CSV parsing included). Accuracy counts every row (a row that came
   before the model could predict counts as wrong, as River's first ``None`` does). A
   context column repeats it with batches of at most 5,000 rows: the model still learns in
   chunks of at most 512, so the accuracy is the same and only per-batch costs change.
2. River: ``preprocessing.StandardScaler() | linear_model.LogisticRegression()``
   (``multiclass.OneVsRestClassifier`` around it for ImageSegments), ``predict_one`` then
   ``learn_one`` per row, over the dicts River's iterator gives (made before timing).
3. scikit-learn per row (the slow peer): ``StandardScaler.partial_fit`` +
   ``SGDClassifier.predict`` + ``partial_fit`` one row at a time, on the first 1,000 rows.
Best of ``--repeats`` for times (accuracy is the same every time: everything is seeded).

Targets (issue 5): streamlab accuracy within 1 point of River's, at >= 3x River's rows/s.

Latency: ``streamlab.generate("noise", rate=R, speed=1)`` paces rows in real time; a
``learn`` step follows. A row is due at ``t0 + (event time - first event time)`` on the
monotonic clock (``t0``: when the first row left the source); its wait is the time from then
until the batch holding its prediction leaves ``learn``. Reported: p50, p99 and max wait,
the time a batch spends in ``learn`` (the rest is pacing: the row waiting to be due and the
loop's wake-up), and the mean batch size, at R = 1,000 and 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import river
import sklearn
from river import datasets, linear_model, multiclass, preprocessing
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler

import streamlab
from streamlab.learn import RunningScaler

DATASETS = {
    "Phishing": datasets.Phishing,
    "Bananas": datasets.Bananas,
    "ImageSegments": datasets.ImageSegments,
    "Shuttle": datasets.Shuttle,
}


def load(name: str):
    """River's rows as (list of (dict, label)) and as a DataFrame with a ``y`` column."""
    rows = list(DATASETS[name]())
    df = pd.DataFrame([x for x, _ in rows])
    df.columns = [f"x{c}" if not isinstance(c, str) else c for c in df.columns]
    df["y"] = [y for _, y in rows]
    rows = [(dict(zip(df.columns[:-1], x.values(), strict=True)), y) for x, y in rows]
    return rows, df


def sgd() -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss", learning_rate="constant", eta0=0.01, alpha=0.0, shuffle=False
    )


def best(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def run_streamlab(path: Path, classes: list, batch: int) -> dict:
    src = streamlab.replay(path, speed=0, max_rows=batch)
    node = src.learn(sgd(), target="y", transform=RunningScaler(), classes=classes)
    streamlab.run(src)
    st, m = node.stats, node.metrics
    return {
        "accuracy": m["accuracy"] * st.scored / st.rows,  # unscored rows count as wrong
        "rows": st.rows,
        "scored_accuracy": m["accuracy"],
        "unscored": st.unscored,
        "dead": st.dead,
        "batches": st.batches,
    }


def run_river(rows, multi: bool) -> dict:
    lr = linear_model.LogisticRegression()
    model = preprocessing.StandardScaler() | (multiclass.OneVsRestClassifier(lr) if multi else lr)
    hits = 0
    for x, y in rows:
        hits += model.predict_one(x) == y
        model.learn_one(x, y)
    return {"accuracy": hits / len(rows), "rows": len(rows)}


def run_sklearn_per_row(df: pd.DataFrame, classes, limit: int) -> dict:
    X = df.drop(columns="y").to_numpy(float)[:limit]
    y = df["y"].to_numpy()[:limit]
    model, scaler, hits = sgd(), StandardScaler(), 0
    for i in range(len(X)):
        row = scaler.partial_fit(X[i : i + 1]).transform(X[i : i + 1])
        if i:
            hits += model.predict(row)[0] == y[i]
        model.partial_fit(row, y[i : i + 1], classes=classes)
    return {"accuracy": hits / len(X), "rows": len(X)}


async def latency(rate: float, seconds: float) -> dict:
    src = streamlab.generate(
        "noise", rate=rate, speed=1, rows=int(rate * seconds), anomaly_rate=0.05, seed=1
    )
    start: list = []
    waits, sizes, left, in_learn = [], [], [], []

    def first(df):
        now = time.monotonic()
        if not start:
            start.append((now, df["time"].iloc[0]))
        left.append(now)  # when this batch left the source (learn runs right after)

    src.sink(first)  # before learn: streamz calls downstreams in the order they were made
    node = src.learn(
        SGDClassifier(loss="log_loss", random_state=0),
        target="is_anomaly",
        features=["value"],
        transform=RunningScaler(),
        classes=[False, True],
    )

    def done(df):
        now = time.monotonic()
        t0, e0 = start[0]
        due = t0 + (df["time"] - e0).dt.total_seconds().to_numpy()
        waits.append(now - due)
        sizes.append(len(df))
        in_learn.append(now - left[len(sizes) - 1])

    node.sink(done)
    await streamlab.arun(src)
    w = np.concatenate(waits) * 1e3
    return {
        "rate": rate,
        "rows": len(w),
        "p50_ms": float(np.percentile(w, 50)),
        "p99_ms": float(np.percentile(w, 99)),
        "max_ms": float(w.max()),
        "learn_p50_ms": float(np.percentile(in_learn, 50) * 1e3),
        "learn_p99_ms": float(np.percentile(in_learn, 99) * 1e3),
        "mean_batch_rows": float(np.mean(sizes)),
        "batches": len(sizes),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1 repeat, shorter latency runs")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=500, help="replay max_rows (batch bound)")
    p.add_argument("--per-row-limit", type=int, default=1000)
    p.add_argument("--latency-seconds", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "learn.json")
    a = p.parse_args(argv)
    repeats = 1 if a.quick else a.repeats
    seconds = 3.0 if a.quick else a.latency_seconds
    started = time.perf_counter()
    load0 = os.getloadavg()
    results: dict = {"datasets": {}, "latency": []}
    warnings.simplefilter("ignore", FutureWarning)  # pandas 3 notices from River's internals
    with tempfile.TemporaryDirectory() as tmp:
        for name in DATASETS:
            rows, df = load(name)
            path = Path(tmp) / f"{name}.csv"
            df.to_csv(path, index=False)
            classes = sorted(df["y"].unique().tolist())
            multi = len(classes) > 2
            s_time, s = best(lambda p=path, c=classes: run_streamlab(p, c, a.batch), repeats)
            b_time, b = best(lambda p=path, c=classes: run_streamlab(p, c, 5000), repeats)
            r_time, r = best(lambda r=rows, m=multi: run_river(r, m), repeats)
            k_time, k = best(lambda d=df, c=classes: run_sklearn_per_row(d, c, a.per_row_limit), 1)
            results["datasets"][name] = {
                "rows": len(df),
                "classes": len(classes),
                "streamlab": {**s, "seconds": s_time, "rows_per_s": len(df) / s_time},
                "streamlab_batch_5000": {**b, "seconds": b_time, "rows_per_s": len(df) / b_time},
                "river": {**r, "seconds": r_time, "rows_per_s": len(df) / r_time},
                "sklearn_per_row": {**k, "seconds": k_time, "rows_per_s": k["rows"] / k_time},
            }
    for rate in (1000.0, 20000.0):
        results["latency"].append(asyncio.run(latency(rate, seconds)))

    print(f"\nprequential accuracy and speed (streamlab batches <= {a.batch} rows)")
    head = f"  {'dataset':<14}{'rows':>7}  {'acc sl':>7} {'acc river':>9} {'diff':>6}"
    head += f"  {'sl rows/s':>10} {'river rows/s':>12} {'ratio':>6} {'sk/row rows/s':>13}  verdict"
    head += f"  {'sl rows/s, batches<=5000':>24}"
    print(head)
    for name, d in results["datasets"].items():
        s, r, k = d["streamlab"], d["river"], d["sklearn_per_row"]
        diff = (s["accuracy"] - r["accuracy"]) * 100
        ratio = s["rows_per_s"] / r["rows_per_s"]
        b_ratio = d["streamlab_batch_5000"]["rows_per_s"] / r["rows_per_s"]
        ok = diff >= -1.0 and ratio >= 3.0
        d["accuracy_diff_points"], d["speed_ratio"], d["pass"] = diff, ratio, ok
        print(
            f"  {name:<14}{d['rows']:>7}  {s['accuracy']:>7.4f} {r['accuracy']:>9.4f} {diff:>+6.2f}"
            f"  {s['rows_per_s']:>10,.0f} {r['rows_per_s']:>12,.0f} {ratio:>5.1f}x"
            f" {k['rows_per_s']:>13,.0f}  {'PASS' if ok else 'FAIL':<7}"
            f"  {d['streamlab_batch_5000']['rows_per_s']:>13,.0f} ({b_ratio:.1f}x, acc"
            f" {d['streamlab_batch_5000']['accuracy']:.4f})"
        )
    total = {
        who: sum(d["rows"] for d in results["datasets"].values())
        / sum(d[who]["seconds"] for d in results["datasets"].values())
        for who in ("streamlab", "river")
    }
    results["all_datasets_rows_per_s"] = total
    print(
        f"  {'all (rows/s)':<14}{'':>7}  {'':>7} {'':>9} {'':>6}  {total['streamlab']:>10,.0f}"
        f" {total['river']:>12,.0f} {total['streamlab'] / total['river']:>5.1f}x"
    )
    print("\nlatency: a row's wait for its prediction (paced generate -> learn, real time)")
    for lat in results["latency"]:
        print(
            f"  {lat['rate']:>8,.0f} rows/s: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms,"
            f" max {lat['max_ms']:.2f} ms; of which in learn: p50 {lat['learn_p50_ms']:.2f} ms,"
            f" p99 {lat['learn_p99_ms']:.2f} ms per batch; mean batch"
            f" {lat['mean_batch_rows']:.1f} rows ({lat['batches']} batches)"
        )
    results.update(
        benchmark="learn",
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=time.perf_counter() - started,
        config={
            "quick": a.quick,
            "repeats": repeats,
            "batch": a.batch,
            "per_row_limit": a.per_row_limit,
            "latency_seconds": seconds,
        },
        machine={
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": load0,
            "loadavg_after": os.getloadavg(),
        },
        versions={
            "river": river.__version__,
            "sklearn": sklearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {a.out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
