"""Online learning against River, per-row scikit-learn and (optional) Spark: same data, same run.

    python benchmarks/bench_learn.py [--quick] [--busy] [--repeats 3] [--loops 20] [--no-spark]

Data: the labelled datasets River ships as files inside its package (no download): Phishing
(UCI, 1,250 rows, binary), Bananas (OpenML 1460, 5,300 rows, binary), ImageSegments (UCI
Statlog segment, 2,310 rows, 7 classes) and Shuttle (UCI Statlog shuttle as in ODDS, 49,097
rows, binary). They are read with River's own iterators, written once to a temporary CSV,
and only read here (nothing is copied into this repository).

Rows, per dataset, all test-then-train over the whole dataset in its order, with the same
model on both sides: streamlab's ``learn(SGDClassifier(loss="log_loss",
learning_rate="constant", eta0=0.01, alpha=0), transform=RunningScaler(), chunk="auto")`` is
River's ``preprocessing.StandardScaler() | linear_model.LogisticRegression()`` (plain SGD,
learning rate 0.01, no L2; ``multiclass.OneVsRestClassifier`` around it for ImageSegments),
fed in micro-batches. Accuracy counts every row (a row that came before the model could
predict counts as wrong, as River's first ``None`` does).

1. Like for like, the target: both learners take rows already in memory. River:
   ``predict_one`` then ``learn_one`` per row over the dicts River's iterator gives (made
   before timing). streamlab: the same rows as DataFrame batches of at most ``--batch`` (500)
   rows (made before timing, cut where row 2's replay cuts them), emitted by a streamz
   ``Stream`` into ``learn``.
2. From the CSV file, parsing included on both sides: streamlab
   ``streamlab.replay(csv, speed=0, max_rows=500) -> learn`` timed around ``streamlab.run``;
   River ``river.stream.iter_csv`` (converters giving the values its own iterator gives) into
   the same per-row loop. The accuracy must equal row 1's on each side (asserted). Also shown:
   streamlab from the file against River from memory (the most conservative ratio), and
   streamlab replaying with batches of at most 5,000 rows (the model still learns in chunks
   of at most 512, cut at batch ends, so the accuracy differs only a little).
3. scikit-learn per row (the slow peer): ``StandardScaler.partial_fit`` +
   ``SGDClassifier.predict`` + ``partial_fit`` one row at a time, on the first 1,000 rows.
Best of ``--repeats`` for times (accuracy is the same every time: everything is seeded).

Targets (issue 5): streamlab accuracy within 1 point of River's, at >= 3x River's rows/s
(row 1).

Steady state (``--loops K``, default 20): the three small datasets (Phishing, Bananas,
ImageSegments) are one pass of a few thousand rows, so start-up costs (the first batches, the
model's first fits) weigh on their single-pass figures. Each is also written K times over as
one CSV (one header, then the rows K times in the same order) and run as one continuous
stream: streamlab replays that file, River iterates the same rows K times from memory (the
conservative pairing of row 2), with the same models as above. Reported: rows/s and accuracy of both over all K passes. The single-pass rows
stay the primary figures (and the targets); these are extra columns.

Text stream: N labelled lines ``label<TAB>text`` (three classes, seven words drawn from the
class's words and common words, seeded; ``--text-lines``, default 20,000, quick 10,000):

4. streamlab: the lines are sent over a loopback socket (a thread with a plain ``socket``,
   ``sendall``) to ``listen_tcp(0, parse="text")`` -> ``streamlab.learn.text_classifier``
   (``LabelledLines`` -> ``learn(SGDClassifier(loss="log_loss"),
   transform=HashingVectorizer(n_features=2**18))`` test-then-train, plus the per-class
   ``aggregate(..., output="complete")`` table). Timed from the first byte sent until every
   line is learned; start-up is building the pipeline and opening the listener. Accuracy
   counts every line (the two that came before the model could predict count as wrong). A
   second row only counts lines per class (``LabelledLines`` -> ``aggregate(output=
   "complete")``), the peer of Spark's word count. A run takes a second or less and varies
   a lot from run to run on a small shared machine: best of 3 (or of ``--repeats`` if more).
5. Spark Structured Streaming (optional: only when ``pyspark`` is importable; otherwise the
   row is printed as skipped with the reason and stored as ``null``). ``local[2]``, one
   SparkSession, its start-up (JVM launch) timed. Two queries on the same lines:

   a. counts: the socket source (``format("socket")``, the lines served by a thread on
      loopback) -> label = text before the tab -> ``groupBy("label").count()`` in
      ``complete`` output mode to the memory sink; timed from ``start()`` until the table
      sums to N;
   b. learning: Spark ML has no online logistic regression for Structured Streaming (no
      ``partial_fit``, and pyspark cannot warm-start ``LogisticRegression``), so the honest
      peer is a model refitted per micro-batch in ``foreachBatch``: each micro-batch is first
      predicted by the model fitted on the previous micro-batch (test-then-train at
      micro-batch granularity; the first micro-batch is not predicted and counts as wrong;
      the accuracy on the predicted rows is reported too), the per-class table (rows, right)
      is merged as ``complete`` mode would, then
      ``Pipeline(Tokenizer, HashingTF(numFeatures=2**18), LogisticRegression(maxIter=10))`` is
      fitted on that micro-batch alone (refitting on everything so far grows without bound:
      over three minutes for 20,000 lines here). The source is a *file* source, the lines
      split into files of ``--spark-batch`` lines (default 2,000) read with
      ``maxFilesPerTrigger=1``: Spark's socket source hands a trigger everything that
      arrived since the last one (all 20,000 lines in one micro-batch in a trial here), which
      would leave nothing to test-then-train on; a bounded file source is Spark's built-in
      way to fix the micro-batch size. Timed from ``start()`` until the last micro-batch is
      done.

   pyspark is not a dependency of this project (``pip install pyspark``; it needs Java 17 or
   newer, and warns about pandas 3); ``--no-spark`` skips it.

Fast path off: the learner rows of pairing 1 and 2 (streamlab from memory and from the file)
run again in a helper process (this script, ``--_role learner-rows``) whose environment has
``STREAMLAB_FASTPATH=0``, so scikit-learn's public ``partial_fit`` runs instead of streamlab's
fast path; "vs on" compares with the same helper run just before with the environment as it is
(``results.fastpath_off.helper_on``), "vs River" with row 1's River. Not a target.
``--no-fastpath-off`` skips it.

Latency: ``streamlab.generate("noise", rate=R, speed=1)`` paces rows in real time; a
``learn`` step follows. A row is due at ``t0 + (event time - first event time)`` on the
monotonic clock; ``t0``, the schedule's origin, is the earliest (time a batch left the source
- its first row's offset) over the run, as a paced row never leaves before it is due. A row's
wait is the time from when it was due until the batch holding its prediction leaves
``learn``. Reported: p50, p99 and max wait,
the time a batch spends in ``learn`` (the rest is pacing: the row waiting to be due and the
loop's wake-up), and the mean batch size, at R = 1,000 and 20,000 rows/s.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Run, defaults, parse, parser
from learn_data import DATASETS, FASTPATH_ENV, bench_dataset, role_learner_rows
from learn_report import report, targets
from learn_text import bench_text
from sklearn.linear_model import SGDClassifier

import streamlab
from streamlab.learn import RunningScaler


async def latency(rate: float, seconds: float) -> dict:
    src = streamlab.generate(
        "noise", rate=rate, speed=1, rows=int(rate * seconds), anomaly_rate=0.05, seed=1
    )
    e0: list = []
    left, done_at, offsets = [], [], []

    def first(df):
        left.append(time.monotonic())  # when this batch left the source (learn runs right after)
        if not e0:
            e0.append(df["time"].iloc[0])

    src.sink(first)  # before learn: streamz calls downstreams in the order they were made
    node = src.learn(
        SGDClassifier(loss="log_loss", random_state=0),
        target="is_anomaly",
        features=["value"],
        transform=RunningScaler(),
        classes=[False, True],
    )

    def done(df):
        done_at.append(time.monotonic())
        offsets.append((df["time"] - e0[0]).dt.total_seconds().to_numpy())

    node.sink(done)
    await streamlab.arun(src)
    # The schedule's origin: a paced row never leaves before it is due, so the earliest
    # (left - its offset) over all batches is the closest bound on when row 0 was due.
    origin = min(t - o[0] for t, o in zip(left, offsets, strict=True))
    w = np.concatenate([d - (origin + o) for d, o in zip(done_at, offsets, strict=True)]) * 1e3
    in_learn = np.subtract(done_at, left)
    return {
        "rate": rate,
        "rows": len(w),
        "p50_ms": float(np.percentile(w, 50)),
        "p99_ms": float(np.percentile(w, 99)),
        "max_ms": float(w.max()),
        "learn_p50_ms": float(np.percentile(in_learn, 50) * 1e3),
        "learn_p99_ms": float(np.percentile(in_learn, 99) * 1e3),
        "mean_batch_rows": float(np.mean([len(o) for o in offsets])),
        "batches": len(offsets),
    }


def fastpath_off(run: Run, args, repeats: int) -> dict:
    """The learner rows in a helper process with ``STREAMLAB_FASTPATH=0``, and (the control for
    "vs on") in the same kind of helper with the environment as it is, run first."""
    extra = ("--repeats", str(repeats), "--batch", str(args.batch))
    out = {}
    for key, env in (("helper_on", None), ("off", FASTPATH_ENV)):
        child = run.children.spawn("learner-rows", *extra, env=env)
        try:
            out[key] = json.loads(run.children.readline(child, timeout=900))
        finally:
            run.children.end(child)
    return {**out.pop("off"), **out}


def main(argv=None) -> int:
    p = parser("learn", __doc__)
    p.add_argument("--batch", type=int, default=500, help="replay max_rows (batch bound)")
    p.add_argument("--per-row-limit", type=int, default=1000)
    p.add_argument("--latency-seconds", type=float, help="default 10; quick 3")
    p.add_argument("--loops", type=int, default=20, help="passes for the steady-state columns")
    p.add_argument("--text-lines", type=int, help="default 20,000; quick 10,000")
    p.add_argument("--spark-batch", type=int, default=2000, help="lines per Spark micro-batch")
    p.add_argument("--no-spark", action="store_true", help="skip the optional pyspark rows")
    p.add_argument("--no-fastpath-off", action="store_true", help="skip the fast-path-off row")
    a = parse(p, argv, {"learner-rows": role_learner_rows})
    defaults(a, repeats=(1, 3), latency_seconds=(3.0, 10.0), text_lines=(10_000, 20_000))
    warnings.simplefilter("ignore", FutureWarning)  # pandas 3 notices from River's internals
    with Run("learn", a) as run, tempfile.TemporaryDirectory() as tmp:
        res = run.results
        res["datasets"] = {}
        for name in DATASETS:
            run.section(name, bench_dataset, name, a, a.repeats, Path(tmp), into=res["datasets"])
        run.section("text", bench_text, a, a.repeats, Path(tmp))
        if not a.no_fastpath_off:
            run.section("fastpath_off", fastpath_off, run, a, a.repeats)
        rates = (1000.0, 20000.0)
        run.section("latency", lambda: [asyncio.run(latency(r, a.latency_seconds)) for r in rates])
    broken = [k for k, v in res["datasets"].items() if "error" in v]
    config = {k: v for k, v in vars(a).items() if k not in ("out", "_role", "quick")}
    return run.finish(
        config=config,
        targets=targets(res) if not broken else [],
        report=report(res, a)
        if not broken and not any("error" in res[k] for k in ("text", "latency"))
        else [],
        packages=("river", "scikit-learn", "pyspark"),
    )


if __name__ == "__main__":
    raise SystemExit(main())
