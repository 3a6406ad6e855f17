"""Sketch benchmark: streamlab.stats (batch-vectorised) against River's per-item equivalents.

On the same seeded data, for each sketch: update throughput (items/s, update calls only, data
prepared beforehand) and error against the exact answer.

1. Quantiles: ``KLL(k=600)`` vs ``river.stats.Quantile`` (P², one object per quantile; 99
   objects for q = 0.01..0.99). Data: lognormal floats. Error: the largest distance over the 99
   q between q and the exact rank interval of the returned value.
2. Distinct count: ``HyperLogLog(p=14)`` vs ``river.sketch.NUnique(error_rate=0.01)``, which is
   a HyperLogLog with the same 2**14 registers (it hashes ``str`` only, so both get strings).
   Error: |estimate / exact - 1|.
3. Heavy hitters: ``SpaceSaving(capacity=1000)`` vs ``river.sketch.HeavyHitters`` (lossy
   counting) with ``support=epsilon=0.001`` (same n/1000 error guarantee) and
   ``fading_factor=1.0`` (no forgetting, so its counts are comparable). Data: zipf(1.3) ints.
   Error: recall of the items above n/1000 and the largest |estimate - exact| / n among them.

streamlab runs on ``--n`` items in batches of ``--batch`` (best of ``--repeats``), plus a context
row with batches of ``--small-batch``. River runs per item (a Python ``for`` loop over a list)
on the first ``--river-n`` items, once; its errors are on that subset, and streamlab's error on
the same subset is reported next to it.

Usage::

    python benchmarks/bench_sketches.py [--quick] [--busy] [--out benchmarks/results/sketches.json]

JSON: ``results.quantiles``, ``results.distinct``, ``results.heavy``, each a list of rows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from _harness import Run, defaults, parse, parser

from streamlab.stats import KLL, HyperLogLog, SpaceSaving

QS = np.arange(1, 100) / 100
SEED = 20260510


# ------------------------------------------------------------------------------------------
# errors against the exact answer
# ------------------------------------------------------------------------------------------
def rank_error(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    s = np.sort(x)
    lo = np.searchsorted(s, values, side="left") / len(s)
    hi = np.searchsorted(s, values, side="right") / len(s)
    return np.maximum(0.0, np.maximum(lo - QS, QS - hi))


def heavy_error(estimates: dict, x: np.ndarray, threshold: float) -> dict:
    true = pd.Series(x).value_counts()
    heavy = true[true > threshold]
    est = np.array([estimates.get(item, 0.0) for item in heavy.index], dtype=float)
    return {
        "heavy_items": len(heavy),
        "recall": float(np.mean([item in estimates for item in heavy.index])),
        "max_abs_err_over_n": float(np.abs(est - heavy.to_numpy()).max() / len(x)),
    }


# ------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------
def time_batches(make: Callable, parts: list, repeats: int) -> tuple[object, list[float]]:
    """Feed ``parts`` to a fresh sketch ``repeats`` times; the last sketch and every time."""
    seconds = []
    for _ in range(repeats):
        sk = make()
        t0 = time.perf_counter()
        for part in parts:
            sk.update(part)
        seconds.append(time.perf_counter() - t0)
    return sk, seconds


def time_items(objs: list, items: list) -> float:
    """River's way: one ``update(x)`` call per item per object. Seconds for all objects."""
    t0 = time.perf_counter()
    for obj in objs:
        update = obj.update
        for x in items:
            update(x)
    return time.perf_counter() - t0


def split(x, size: int) -> list:
    if isinstance(x, pd.Series):
        return [x.iloc[i : i + size] for i in range(0, len(x), size)]
    return [x[i : i + size] for i in range(0, len(x), size)]


def streamlab_rows(name, make, x, args, error_of) -> list[dict]:
    """The main row (big batches, best of repeats, full data) and the small-batch row."""
    sk, secs = time_batches(make, split(x, args.batch), args.repeats)
    sub = x[: args.river_n]
    sk_sub, _ = time_batches(make, split(sub, args.batch), 1)
    _, small = time_batches(make, split(sub, args.small_batch), 1)
    main = {
        "sketch": name,
        "impl": "streamlab",
        "items": len(x),
        "batch": args.batch,
        "seconds": secs,
        "items_per_s": len(x) / min(secs),
        "error": error_of(sk, x),
        "error_on_river_subset": error_of(sk_sub, sub),
        "state": sk_state(sk),
    }
    context = {
        "sketch": name,
        "impl": "streamlab",
        "items": len(sub),
        "batch": args.small_batch,
        "seconds": small,
        "items_per_s": len(sub) / small[0],
    }
    return [main, context]


def sk_state(sk) -> str:
    if isinstance(sk, KLL):
        return f"{sk.retained} floats in {len(sk.levels)} levels"
    if isinstance(sk, HyperLogLog):
        return f"{len(sk.registers)} uint8 registers"
    return f"{len(sk.items)} counters"


# ------------------------------------------------------------------------------------------
# the three comparisons
# ------------------------------------------------------------------------------------------
def bench_quantiles(args, rng) -> list[dict]:
    from river import stats

    x = rng.lognormal(sigma=1.5, size=args.n)

    def err(sk, data):
        e = rank_error(sk.quantile(QS), data)
        return {"max_rank_err": float(e.max()), "median_rank_err": float(np.median(e))}

    rows = streamlab_rows("quantiles", lambda: KLL(k=600), x, args, err)
    sub = x[: args.river_n]
    items = sub.tolist()
    one = [stats.Quantile(0.5)]
    t_one = time_items(one, items)
    many = [stats.Quantile(q) for q in QS]
    t_many = time_items(many, items)
    e = rank_error(np.array([obj.get() for obj in many]), sub)
    river_err = {"max_rank_err": float(e.max()), "median_rank_err": float(np.median(e))}
    rows.append(
        {
            "sketch": "quantiles",
            "impl": "river Quantile x1 (q=0.5)",
            "items": len(sub),
            "batch": 1,
            "seconds": [t_one],
            "items_per_s": len(sub) / t_one,
            "state": "5 markers",
        }
    )
    rows.append(
        {
            "sketch": "quantiles",
            "impl": "river Quantile x99",
            "items": len(sub),
            "batch": 1,
            "seconds": [t_many],
            "items_per_s": len(sub) / t_many,
            "error": river_err,
            "state": "99 x 5 markers",
        }
    )
    # Order matters to P² (no guarantee) but not to KLL's bound: the same subset, sorted.
    ordered = np.sort(sub)
    sk, _ = time_batches(lambda: KLL(k=600), split(ordered, args.batch), 1)
    many = [stats.Quantile(q) for q in QS]
    t_sorted = time_items(many, ordered.tolist())
    for impl, values, secs in (
        ("streamlab, sorted input", sk.quantile(QS), None),
        ("river Quantile x99, sorted", np.array([obj.get() for obj in many]), t_sorted),
    ):
        e = rank_error(values, ordered)
        rows.append(
            {
                "sketch": "quantiles",
                "impl": impl,
                "items": len(ordered),
                "batch": args.batch if secs is None else 1,
                "seconds": [] if secs is None else [secs],
                "items_per_s": None if secs is None else len(ordered) / secs,
                "error": {"max_rank_err": float(e.max()), "median_rank_err": float(np.median(e))},
            }
        )
    return rows


def bench_distinct(args, rng) -> list[dict]:
    from river import sketch

    ids = rng.integers(0, args.n // 3, args.n)
    x = pd.Series([f"user-{i}" for i in ids])  # pandas' default string dtype

    def err(sk, data):
        exact = data.nunique()
        return {"exact": int(exact), "estimate": sk.count(), "rel_err": abs(sk.count() / exact - 1)}

    rows = streamlab_rows("distinct", lambda: HyperLogLog(p=14), x, args, err)
    ints = pd.Series(ids)
    sk, secs = time_batches(lambda: HyperLogLog(p=14), split(ints, args.batch), args.repeats)
    rows.append(
        {
            "sketch": "distinct",
            "impl": "streamlab (int64 ids)",
            "items": len(ints),
            "batch": args.batch,
            "seconds": secs,
            "items_per_s": len(ints) / min(secs),
            "error": err(sk, ints),
        }
    )
    sub = x.iloc[: args.river_n]
    obj = sketch.NUnique(error_rate=0.01, seed=0)
    t = time_items([obj], sub.tolist())
    exact = sub.nunique()
    rows.append(
        {
            "sketch": "distinct",
            "impl": "river NUnique",
            "items": len(sub),
            "batch": 1,
            "seconds": [t],
            "items_per_s": len(sub) / t,
            "error": {
                "exact": int(exact),
                "estimate": obj.get(),
                "rel_err": abs(obj.get() / exact - 1),
            },
            "state": f"{obj.n_buckets} registers (list)",
        }
    )
    return rows


def bench_heavy(args, rng) -> list[dict]:
    from river import sketch

    capacity = 1000
    x = rng.zipf(1.3, args.n)

    def err(sk, data):
        top = sk.top()
        return heavy_error(
            dict(zip(top["item"], top["count"], strict=True)), data, len(data) / capacity
        )

    rows = streamlab_rows("heavy hitters", lambda: SpaceSaving(capacity=capacity), x, args, err)
    sub = x[: args.river_n]
    obj = sketch.HeavyHitters(support=0.001, epsilon=0.001, fading_factor=1.0)
    t = time_items([obj], sub.tolist())
    rows.append(
        {
            "sketch": "heavy hitters",
            "impl": "river HeavyHitters",
            "items": len(sub),
            "batch": 1,
            "seconds": [t],
            "items_per_s": len(sub) / t,
            "error": heavy_error(dict(obj.most_common()), sub, len(sub) / capacity),
            "state": f"{len(obj._entries)} counters",
        }
    )
    return rows


# ------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------
def error_text(row: dict) -> str:
    e = row.get("error")
    if not e:
        return ""
    if "max_rank_err" in e:
        text = f"max rank err {e['max_rank_err']:.2%} (median {e['median_rank_err']:.2%})"
    elif "rel_err" in e:
        text = f"rel err {e['rel_err']:.2%} ({e['estimate']:,} vs {e['exact']:,})"
    else:
        text = f"recall {e['recall']:.0%} of {e['heavy_items']}, max err {e['max_abs_err_over_n']:.4%} of n"
    sub = row.get("error_on_river_subset")
    if sub:
        key = "max_rank_err" if "max_rank_err" in sub else "rel_err"
        if key in sub:
            text += f"; on river's subset {sub[key]:.2%}"
        else:
            text += f"; on river's subset recall {sub['recall']:.0%}, max err {sub['max_abs_err_over_n']:.4%} of n"
    return text


def table_lines(rows: list[dict]) -> list[str]:
    head = f"{'sketch':<14} {'implementation':<27} {'items':>9} {'batch':>6} {'items/s':>12}  error / state"
    lines = [head, "-" * len(head)]
    for r in rows:
        rate = "-" if r["items_per_s"] is None else f"{r['items_per_s']:,.0f}"
        tail = "; ".join(t for t in (error_text(r), r.get("state", "")) if t)
        lines.append(
            f"{r['sketch']:<14} {r['impl']:<27} {r['items']:>9,} {r['batch']:>6,} "
            f"{rate:>12}  {tail}"
        )
    return lines


def parse_args(argv=None):
    p = parser("sketches", __doc__)
    p.add_argument("--n", type=int, help="items for streamlab (1M; quick 200k)")
    p.add_argument("--river-n", type=int, help="items for River, per item (200k; quick 50k)")
    p.add_argument("--batch", type=int, default=10_000, help="streamlab batch size")
    p.add_argument("--small-batch", type=int, default=100, help="context row batch size")
    p.add_argument("--seed", type=int, default=SEED)
    args = parse(p, argv)
    defaults(args, n=(200_000, 1_000_000), river_n=(50_000, 200_000), repeats=(3, 3))
    args.river_n = min(args.river_n, args.n)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import river  # noqa: F401
    except ImportError:
        print("River is needed for the comparison: pip install river", file=sys.stderr)
        return 2
    with Run("sketches", args) as run:
        for bench in (bench_quantiles, bench_distinct, bench_heavy):
            name = bench.__name__.removeprefix("bench_")
            run.section(name, bench, args, np.random.default_rng(args.seed))
    rows = [r for v in run.results.values() if isinstance(v, list) for r in v]
    config = {k: v for k, v in vars(args).items() if k not in ("out", "_role", "quick")}
    return run.finish(config=config, report=table_lines(rows), packages=("river",))


if __name__ == "__main__":
    sys.exit(main())
