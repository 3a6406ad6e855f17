"""Drift detectors and anomaly steps: streamlab against River on the same seeded streams.

    python benchmarks/bench_drift.py [--quick] [--busy] [--seeds 30] [--out benchmarks/results/drift.json]

1. Detection: ``streamlab.generate("noise", noise=0.1)`` streams of 20,000 rows with a mean
   shift of 0.5, 1, 2 and 4 sigma at row 10,000 (``--seeds`` seeds each). ADWIN and
   Page-Hinkley watch the values; DDM watches an error stream made from them (1 where the value
   is above 1 sigma: p = 0.16 before, 0.31 / 0.5 / 0.84 / 1.0 after). Delay = rows from the
   change to the first alarm at or after it (mean, median; ``missed`` = no alarm in the 10,000
   rows after it). streamlab's ADWIN runs with ``reset_on_drift=True`` to match River's.
2. False alarms per 100k rows: alarms before the change in those streams plus alarms on
   stationary streams (``--stationary-rows`` rows, at noise 0.1 and at noise 1).
3. Throughput, rows/s: one stationary stream of ``--rows`` rows; streamlab fed batches of
   10,000 rows, River one row at a time (its only mode), best of ``--repeats``.
4. Anomaly steps: precision/recall/F1 (scored rows) and rows/s (batches of 1,000 rows) on
   ``generate(kind, rows=20000, anomaly_rate=0.01, anomaly_size=6)``, kinds noise (noise=1)
   and sine, 5 seeds.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from _harness import Run, defaults, parse, parser
from streamz import Stream

import streamlab
from streamlab.learn.anomaly import score_against_truth
from streamlab.learn.detectors import ADWIN, DDM, PageHinkley

AT, ROWS = 10_000, 20_000
SHIFTS = (0.5, 1.0, 2.0, 4.0)


def values(seed: int, rows: int, *, noise: float, drift: float = 0.0) -> np.ndarray:
    gen = streamlab.generate(
        "noise", rows=rows, seed=seed, noise=noise, drift_at=AT if drift else None, drift=drift
    )
    blocks = [gen.block(b)["value"] for b in range(-(-rows // 4096))]
    return pd.concat(blocks, ignore_index=True).to_numpy()[:rows]


def detectors(river_drift):
    """name -> (streamlab factory, River factory, input transform given the noise)."""
    same = lambda x, noise: x  # noqa: E731
    errors = lambda x, noise: (x > noise).astype(float)  # noqa: E731
    return {
        "ADWIN": (lambda: ADWIN(reset_on_drift=True), river_drift.ADWIN, same),
        "PageHinkley": (PageHinkley, river_drift.PageHinkley, same),
        "DDM": (DDM, river_drift.binary.DDM, errors),
    }


def river_alarms(detector, x: np.ndarray) -> np.ndarray:
    hits = []
    update = detector.update
    for i, v in enumerate(x.tolist()):
        update(v)
        if detector.drift_detected:
            hits.append(i)
    return np.asarray(hits, dtype=np.int64)


def ours_alarms(detector, x: np.ndarray, batch: int = 10_000) -> np.ndarray:
    parts = [i + detector.update(x[i : i + batch]) for i in range(0, len(x), batch)]
    return np.concatenate(parts)


def bench_detection(args, table) -> list[dict]:
    rows = []
    for name, (ours, theirs, transform) in table.items():
        for shift in SHIFTS:
            found = {"streamlab": [], "river": []}
            false = {"streamlab": 0, "river": 0}
            same = 0
            for seed in range(args.seeds):
                x = transform(values(seed, ROWS, noise=0.1, drift=0.1 * shift), 0.1)
                got = {"streamlab": ours_alarms(ours(), x), "river": river_alarms(theirs(), x)}
                same += np.array_equal(got["streamlab"], got["river"])
                for impl, hits in got.items():
                    false[impl] += int((hits < AT).sum())
                    after = hits[hits >= AT]
                    found[impl].append(after[0] - AT if len(after) else None)
            for impl, delays in found.items():
                hit = [d for d in delays if d is not None]
                rows.append(
                    {
                        "detector": name,
                        "impl": impl,
                        "shift_sigma": shift,
                        "streams": args.seeds,
                        "missed": len(delays) - len(hit),
                        "delay_mean": float(np.mean(hit)) if hit else None,
                        "delay_median": float(np.median(hit)) if hit else None,
                        "delay_p95": float(np.percentile(hit, 95)) if hit else None,
                        "false_before_change": false[impl],
                        "identical_alarms_streams": same,
                    }
                )
    return rows


def bench_false_alarms(args, table, detection) -> list[dict]:
    rows = []
    for name, (ours, theirs, transform) in table.items():
        for noise in (0.1, 1.0):
            count = {"streamlab": 0, "river": 0}
            n = 0
            for seed in range(1000, 1000 + args.stationary_streams):
                x = transform(values(seed, args.stationary_rows, noise=noise), noise)
                count["streamlab"] += len(ours_alarms(ours(), x))
                count["river"] += len(river_alarms(theirs(), x))
                n += len(x)
            if noise == 0.1:  # the rows before the change points count too
                for d in detection:
                    if d["detector"] == name:
                        count[d["impl"]] += d["false_before_change"]
                n += AT * args.seeds * len(SHIFTS)
            for impl, c in count.items():
                rows.append(
                    {
                        "detector": name,
                        "impl": impl,
                        "noise": noise,
                        "rows": n,
                        "alarms": c,
                        "per_100k": 1e5 * c / n,
                    }
                )
    return rows


def bench_throughput(args, table) -> list[dict]:
    x = values(7, args.rows, noise=0.1)
    sub = x[: args.river_rows]
    rows = []
    for name, (ours, theirs, transform) in table.items():
        xs, subs = transform(x, 0.1), transform(sub, 0.1)
        best = {"streamlab": np.inf, "river": np.inf}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ours_alarms(ours(), xs)
            best["streamlab"] = min(best["streamlab"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            river_alarms(theirs(), subs)
            best["river"] = min(best["river"], time.perf_counter() - t0)
        rows.append(
            {
                "detector": name,
                "streamlab_rows": len(xs),
                "river_rows": len(subs),
                "streamlab_rows_per_s": len(xs) / best["streamlab"],
                "river_rows_per_s": len(subs) / best["river"],
            }
        )
    return rows


def bench_anomaly(args) -> list[dict]:
    rows = []
    for kind, options in (("noise", {"noise": 1.0}), ("sine", {})):
        frames = []
        for seed in range(5):
            gen = streamlab.generate(
                kind, rows=ROWS, seed=seed, anomaly_rate=0.01, anomaly_size=6, **options
            )
            frames.append(pd.concat([gen.block(b) for b in range(5)], ignore_index=True)[:ROWS])
        for step in ("robust_zscore", "ewma_chart", "isolation_forest"):
            scores, seconds = [], 0.0
            for df in frames:
                src = Stream()
                node = getattr(src, step)("value")
                out = node.sink_to_list()
                t0 = time.perf_counter()
                for i in range(0, len(df), 1000):
                    src.emit(df.iloc[i : i + 1000])
                seconds += time.perf_counter() - t0
                res = pd.concat(out)
                scores.append(score_against_truth(res[res[node.score_col].notna()], node.flag_col))
            p, r, f1 = np.mean([s[:3] for s in scores], axis=0)
            rows.append(
                {
                    "step": step,
                    "kind": kind,
                    "precision": p,
                    "recall": r,
                    "f1": f1,
                    "rows_per_s": len(frames) * ROWS / seconds,
                }
            )
    return rows


def fmt(v, digits=0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def print_tables(res: dict) -> None:
    print("Detection delay (rows after the change; noise 0.1, change at row 10,000)")
    print(
        f"{'detector':<12} {'shift':>5}  {'streamlab mean/median/p95':>26} {'miss':>4}  "
        f"{'River mean/median/p95':>22} {'miss':>4}  same alarms"
    )
    by = {(d["detector"], d["shift_sigma"], d["impl"]): d for d in res["detection"]}
    for name, shift, _ in [k for k in by if k[2] == "streamlab"]:
        a, b = by[(name, shift, "streamlab")], by[(name, shift, "river")]
        cell = lambda d: "/".join(fmt(d[k]) for k in ("delay_mean", "delay_median", "delay_p95"))  # noqa: E731
        print(
            f"{name:<12} {shift:>4}s  {cell(a):>26} {a['missed']:>4}  {cell(b):>22} "
            f"{b['missed']:>4}  {a['identical_alarms_streams']}/{a['streams']}"
        )
    print("\nFalse alarms per 100k rows (stationary streams + rows before the changes)")
    fa = {(d["detector"], d["noise"], d["impl"]): d for d in res["false_alarms"]}
    for name, noise, _ in [k for k in fa if k[2] == "streamlab"]:
        a, b = fa[(name, noise, "streamlab")], fa[(name, noise, "river")]
        print(
            f"{name:<12} noise {noise:<4} streamlab {a['per_100k']:8.2f}   River "
            f"{b['per_100k']:8.2f}   ({a['rows']:,} rows)"
        )
    print("\nThroughput (rows/s; streamlab in batches of 10,000, River per row)")
    for d in res["throughput"]:
        ratio = d["streamlab_rows_per_s"] / d["river_rows_per_s"]
        print(
            f"{d['detector']:<12} streamlab {d['streamlab_rows_per_s']:>14,.0f}   River "
            f"{d['river_rows_per_s']:>12,.0f}   x{ratio:.1f}"
        )
    print("\nAnomaly steps (defaults; mean of 5 seeds x 20,000 rows, 1 % spikes of 6 sigma)")
    for d in res["anomaly"]:
        print(
            f"{d['step']:<17} {d['kind']:<6} precision {d['precision']:.3f}  recall "
            f"{d['recall']:.3f}  F1 {d['f1']:.3f}  {d['rows_per_s']:>11,.0f} rows/s"
        )


def main(argv=None) -> int:
    p = parser("drift", __doc__)
    p.add_argument("--seeds", type=int, help="30; quick 10")
    p.add_argument("--stationary-streams", type=int, help="10; quick 4")
    p.add_argument("--stationary-rows", type=int, help="100,000; quick 50,000")
    p.add_argument("--rows", type=int, help="throughput rows, 2,000,000; quick 500,000")
    p.add_argument("--river-rows", type=int, help="500,000; quick 100,000")
    args = parse(p, argv)
    defaults(args, seeds=(10, 30), stationary_streams=(4, 10), stationary_rows=(50_000, 100_000),
             rows=(500_000, 2_000_000), river_rows=(100_000, 500_000), repeats=(1, 3))  # fmt: skip
    try:
        from river import drift as river_drift
    except ImportError:
        print("River is needed for the comparison: pip install river", file=sys.stderr)
        return 1
    table = detectors(river_drift)
    with Run("drift", args) as run:
        res = run.results
        run.section("detection", bench_detection, args, table)
        run.section("false_alarms", bench_false_alarms, args, table, res["detection"])
        run.section("throughput", bench_throughput, args, table)
        run.section("anomaly", bench_anomaly, args)
    if not any(isinstance(v, dict) for v in res.values()):  # a section that raised is a dict
        print()
        print_tables(res)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "_role", "quick")}
    return run.finish(config=config, packages=("river", "scikit-learn"))


if __name__ == "__main__":
    sys.exit(main())
