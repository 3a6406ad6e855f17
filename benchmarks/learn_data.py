"""Learning benchmark, the dataset rows: River's bundled datasets, test-then-train by
streamlab's ``learn`` (from memory and from the CSV file), River per row and scikit-learn per
row. See ``bench_learn.py`` for what each row measures.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import river.stream
from _harness import exit_when_parent_goes, repeat
from river import datasets, linear_model, multiclass, preprocessing
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler
from streamz import Stream

import streamlab
from streamlab.learn import RunningScaler

FASTPATH_ENV = {"STREAMLAB_FASTPATH": "0"}

DATASETS = {
    "Phishing": datasets.Phishing,
    "Bananas": datasets.Bananas,
    "ImageSegments": datasets.ImageSegments,
    "Shuttle": datasets.Shuttle,
}
SMALL = ("Phishing", "Bananas", "ImageSegments")  # looped for the steady-state columns


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
    t = repeat(fn, repeats)
    return t.best, t.result


def run_streamlab(path: Path, classes: list, batch: int) -> dict:
    src = streamlab.replay(path, speed=0, max_rows=batch)
    node = src.learn(sgd(), target="y", transform=RunningScaler(), classes=classes)
    streamlab.run(src)
    return learned(node)


def learned(node) -> dict:
    """A learn step's outcome: accuracy over every row (unscored rows count as wrong)."""
    st, m = node.stats, node.metrics
    return {
        "accuracy": m["accuracy"] * st.scored / st.rows,
        "rows": st.rows,
        "scored_accuracy": m["accuracy"],
        "unscored": st.unscored,
        "dead": st.dead,
        "batches": st.batches,
    }


def run_streamlab_memory(batches: list, classes: list) -> dict:
    """The ``learn`` step fed DataFrame batches already in memory (made before timing, as
    River's dicts are): a streamz ``Stream`` emits them one by one."""
    src = Stream()
    node = src.learn(sgd(), target="y", transform=RunningScaler(), classes=classes)
    for batch in batches:
        src.emit(batch)
    return learned(node)


def same_batches(df: pd.DataFrame, path: Path, batch: int) -> list:
    """``df`` cut into the batches ``streamlab.replay(path, max_rows=batch)`` emits (at most
    ``batch`` rows; a batch also ends where a read of the file ends), so that learning from
    memory and from the file sees the same chunks and must give the same predictions."""
    sizes: list[int] = []
    src = streamlab.replay(path, speed=0, max_rows=batch)
    src.sink(lambda b: sizes.append(len(b)))
    streamlab.run(src)
    ends = np.cumsum(sizes)
    assert ends[-1] == len(df), (ends[-1], len(df))
    return [df.iloc[e - n : e] for n, e in zip(sizes, ends, strict=True)]


def river_converters(df: pd.DataFrame) -> dict:
    """``river.stream.iter_csv`` converters giving the same values as River's own iterator."""
    out = {}
    for col in df.columns:
        kind = df[col].dtype.kind
        if kind == "b":
            out[col] = lambda v: v == "True"
        elif kind in "iuf":
            out[col] = float
    return out


def run_river_file(path: Path, converters: dict, multi: bool) -> dict:
    """River reading the same CSV file as ``streamlab.replay`` (``river.stream.iter_csv``:
    lazy, so its parsing is timed with the learning)."""
    return run_river(river.stream.iter_csv(path, target="y", converters=converters), multi)


def run_river(rows, multi: bool) -> dict:
    """River test-then-train, one row at a time, over ``(x, y)`` pairs."""
    lr = linear_model.LogisticRegression()
    model = preprocessing.StandardScaler() | (multiclass.OneVsRestClassifier(lr) if multi else lr)
    hits = n = 0
    for x, y in rows:
        hits += model.predict_one(x) == y
        model.learn_one(x, y)
        n += 1
    return {"accuracy": hits / n, "rows": n}


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


def looped_csv(df: pd.DataFrame, loops: int, path: Path) -> Path:
    """``df`` written ``loops`` times over as one CSV with one header (the looped stream)."""
    body = df.to_csv(index=False, header=False)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(df.columns) + "\n")
        for _ in range(loops):
            f.write(body)
    return path


def prepare(name: str, tmp: Path, batch: int):
    """River's rows, the frame, its CSV file, the classes and the replay's batches."""
    rows, df = load(name)
    path = Path(tmp) / f"{name}.csv"
    df.to_csv(path, index=False)
    classes = sorted(df["y"].unique().tolist())
    return rows, df, path, classes, same_batches(df, path, batch)


def learner_rows(batches: list, path: Path, classes: list, batch: int, repeats: int) -> dict:
    """streamlab's two learner rows: like for like (batches in memory) and from the file."""
    m_time, m = best(lambda: run_streamlab_memory(batches, classes), repeats)
    s_time, s = best(lambda: run_streamlab(path, classes, batch), repeats)
    assert m["accuracy"] == s["accuracy"], (m, s)  # the same rows, the same arithmetic
    n = m["rows"]
    return {
        "streamlab_memory": {**m, "seconds": m_time, "rows_per_s": n / m_time},
        "streamlab": {**s, "seconds": s_time, "rows_per_s": n / s_time},
    }


def bench_dataset(name: str, args, repeats: int, tmp: Path) -> dict:
    rows, df, path, classes, batches = prepare(name, tmp, args.batch)
    multi = len(classes) > 2
    out = {"rows": len(df), "classes": len(classes)}
    out.update(learner_rows(batches, path, classes, args.batch, repeats))
    b_time, b = best(lambda: run_streamlab(path, classes, 5000), repeats)
    r_time, r = best(lambda: run_river(rows, multi), repeats)
    conv = river_converters(df)
    f_time, f = best(lambda: run_river_file(path, conv, multi), repeats)
    assert f["accuracy"] == r["accuracy"] and f["rows"] == r["rows"], (f, r)
    k_time, k = best(lambda: run_sklearn_per_row(df, classes, args.per_row_limit), 1)
    n = len(df)
    out["streamlab_batch_5000"] = {**b, "seconds": b_time, "rows_per_s": n / b_time}
    out["river"] = {**r, "seconds": r_time, "rows_per_s": n / r_time}
    out["river_file"] = {**f, "seconds": f_time, "rows_per_s": n / f_time}
    out["sklearn_per_row"] = {**k, "seconds": k_time, "rows_per_s": k["rows"] / k_time}
    if name in SMALL and args.loops > 1:  # the same rows, looped, as one stream
        n = len(df) * args.loops
        lpath = looped_csv(df, args.loops, Path(tmp) / f"{name}_x{args.loops}.csv")
        ls_time, ls = best(lambda: run_streamlab(lpath, classes, args.batch), repeats)
        lr_time, lr = best(lambda: run_river(rows * args.loops, multi), repeats)
        assert ls["rows"] == lr["rows"] == n, (ls["rows"], lr["rows"], n)
        out["looped"] = {
            "loops": args.loops,
            "rows": n,
            "streamlab": {**ls, "seconds": ls_time, "rows_per_s": n / ls_time},
            "river": {**lr, "seconds": lr_time, "rows_per_s": n / lr_time},
            "accuracy_diff_points": (ls["accuracy"] - lr["accuracy"]) * 100,
            "speed_ratio": (n / ls_time) / (n / lr_time),
        }
    return out


def role_learner_rows(args) -> None:
    """Helper (``--_role learner-rows``; the fast-path-off row runs it with
    ``STREAMLAB_FASTPATH=0``): streamlab's learner rows on every dataset; one JSON line out."""
    exit_when_parent_goes()
    warnings.simplefilter("ignore", FutureWarning)  # pandas 3 notices from River's internals
    out = {"env": {k: os.environ.get(k) for k in FASTPATH_ENV}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in DATASETS:
            _, _, path, classes, batches = prepare(name, Path(tmp), args.batch)
            out[name] = learner_rows(batches, path, classes, args.batch, args.repeats)
    print(json.dumps(out, default=float), flush=True)
