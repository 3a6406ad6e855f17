"""Learning benchmark, the text stream: streamlab's ``text_classifier`` over a loopback socket,
the counts-only pipeline, and (optional) Spark Structured Streaming. See ``bench_learn.py``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import streamlab
from streamlab.learn import LabelledLines, text_classifier

WORDS = {
    "spam": ["win", "cash", "prize", "free", "offer", "claim", "now", "urgent", "money", "click"],
    "ham": ["lunch", "meeting", "tomorrow", "project", "notes", "call", "family", "dinner"],
    "news": ["election", "market", "report", "weather", "sports", "minister", "budget", "court"],
}
COMMON = ["the", "a", "and", "to", "of", "is", "for", "you"]
N_FEATURES = 2**18


def text_lines(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """``n`` labelled lines ``label<TAB>seven words`` and their labels (seeded)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(sorted(WORDS), n).tolist()
    lines = [f"{y}\t{' '.join(rng.choice(WORDS[y] + COMMON, 7))}\n" for y in labels]
    return lines, labels


def _send(address, payload: bytes) -> None:
    with socket.create_connection(address) as conn:
        conn.sendall(payload)


async def _text_streamlab(payload: bytes, n: int, learn: bool) -> dict:
    t0 = time.perf_counter()
    src = streamlab.listen_tcp(0, parse="text")
    if learn:
        tc = text_classifier(src, n_features=N_FEATURES)
        tables = tc.counts.sink_to_list()

        def done() -> bool:
            return tc.learner.stats.rows >= n
    else:
        parsed = LabelledLines(src)
        counts = parsed.map(lambda df: df.assign(rows=1)).aggregate(
            {"rows": ["sum"]}, key="label", output="complete"
        )
        tables = counts.sink_to_list()

        def done() -> bool:
            return bool(tables) and int(tables[-1]["rows_sum"].sum()) >= n

    src.start()
    address = src.address
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    sender = asyncio.create_task(asyncio.to_thread(_send, address, payload))
    deadline = t1 + 300
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"streamlab text: {src.stats.rows} of {n} lines after 300 s")
        await asyncio.sleep(0.001)
    seconds = time.perf_counter() - t1
    await sender
    src.stop()
    await src.wait()
    out = {"startup_s": startup, "seconds": seconds, "rows": n, "rows_per_s": n / seconds}
    out["batches"] = src.stats.batches
    if learn:
        st, m = tc.learner.stats, tc.learner.metrics
        out.update(accuracy=m["accuracy"] * st.scored / st.rows, unscored=st.unscored)
        out["per_class"] = tables[-1].set_index("label")["rows"].astype(int).to_dict()
    else:
        out["per_class"] = tables[-1].set_index("label")["rows_sum"].astype(int).to_dict()
    return out


def run_text_streamlab(payload: bytes, n: int, learn: bool = True) -> dict:
    return asyncio.run(_text_streamlab(payload, n, learn))


def spark_available() -> str | None:
    """None when pyspark can be imported, else why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyspark  # noqa: F401
    except ImportError as e:
        return f"pyspark is not installed ({e}); pip install pyspark (needs Java 17+) to run it"
    return None


def run_spark(lines: list[str], labels: list[str], batch: int, tmp: Path) -> dict:
    """Spark Structured Streaming, local[2]: socket counts and per-micro-batch learning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's notice about pandas 3
        import pyspark
        from pyspark.ml import Pipeline
        from pyspark.ml.classification import LogisticRegression
        from pyspark.ml.feature import HashingTF, Tokenizer
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F

    n = len(lines)
    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench_learn")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - t0
    out: dict = {"version": pyspark.__version__, "master": "local[2]", "startup_s": startup}
    try:
        # a. counts: socket source -> groupBy(label).count(), complete mode, memory sink
        payload = "".join(lines).encode()
        server = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(payload)
                stop.wait(600)  # keep the connection open until the query has stopped

        threading.Thread(target=serve, daemon=True).start()
        t1 = time.perf_counter()
        source = (
            spark.readStream.format("socket")
            .option("host", "127.0.0.1")
            .option("port", server.getsockname()[1])
            .load()
        )
        label = F.split(F.col("value"), "\t", 2).getItem(0).alias("label")
        query = (
            source.select(label)
            .groupBy("label")
            .count()
            .writeStream.outputMode("complete")
            .format("memory")
            .queryName("label_counts")
            .start()
        )
        total = 0
        while total < n:
            if time.perf_counter() - t1 > 300:
                raise TimeoutError(f"Spark counts: {total} of {n} lines after 300 s")
            time.sleep(0.02)
            if spark.catalog.tableExists("label_counts"):
                total = spark.sql("SELECT sum(`count`) AS s FROM label_counts").first()["s"] or 0
        seconds = time.perf_counter() - t1
        table = {r["label"]: r["count"] for r in spark.sql("SELECT * FROM label_counts").collect()}
        progress = [p for p in query.recentProgress if p["numInputRows"]]
        query.stop()
        stop.set()
        server.close()
        out["counts"] = {
            "source": "socket",
            "seconds": seconds,
            "rows": n,
            "rows_per_s": n / seconds,
            "micro_batches_with_rows": len(progress),
            "rows_per_micro_batch": [p["numInputRows"] for p in progress],
            "micro_batch_ms": [p["durationMs"].get("triggerExecution") for p in progress],
            "per_class": table,
        }

        # b. learning: file source (maxFilesPerTrigger=1) -> foreachBatch test-then-train
        folder = tmp / "spark_lines"
        folder.mkdir()
        for i in range(0, n, batch):
            (folder / f"part-{i // batch:05d}.txt").write_text("".join(lines[i : i + batch]))
        classes = sorted(WORDS)
        state = {"model": None, "rows": 0, "right": 0, "scored": 0, "batches": 0, "fit_s": 0.0}
        state["table"] = {}
        stages = [
            Tokenizer(inputCol="text", outputCol="words"),
            HashingTF(inputCol="words", outputCol="features", numFeatures=N_FEATURES),
            LogisticRegression(labelCol="y", maxIter=10),
        ]
        code = F.array_position(F.array(*[F.lit(c) for c in classes]), F.col("label")) - 1

        def on_batch(df, batch_id) -> None:
            parts = F.split(F.col("value"), "\t", 2)
            df = df.select(parts.getItem(0).alias("label"), parts.getItem(1).alias("text"))
            df = df.withColumn("y", code.cast("double")).cache()
            rows = df.count()
            if state["model"] is not None:  # test with the model as it was...
                scored = state["model"].transform(df)
                right = F.sum((F.col("prediction") == F.col("y")).cast("int"))
                per = scored.groupBy("label").agg(F.count("*").alias("n"), right.alias("r"))
                per_class = per.collect()
                state["scored"] += rows
            else:
                per_class = [
                    {"label": r["label"], "n": r["n"], "r": 0}
                    for r in df.groupBy("label").agg(F.count("*").alias("n")).collect()
                ]
            for r in per_class:  # the complete table: rows and right answers per class
                old = state["table"].get(r["label"], (0, 0))
                state["table"][r["label"]] = (old[0] + r["n"], old[1] + r["r"])
                state["right"] += r["r"]
            t = time.perf_counter()  # ...then train on this micro-batch
            state["model"] = Pipeline(stages=stages).fit(df)
            state["fit_s"] += time.perf_counter() - t
            df.unpersist()
            state["rows"] += rows
            state["batches"] += 1

        t2 = time.perf_counter()
        query = (
            spark.readStream.format("text")
            .option("maxFilesPerTrigger", 1)
            .load(str(folder))
            .writeStream.foreachBatch(on_batch)
            .start()
        )
        while state["rows"] < n:
            if query.exception() is not None:
                raise RuntimeError(f"Spark learning query failed: {query.exception()}")
            if time.perf_counter() - t2 > 600:
                raise TimeoutError(f"Spark learning: {state['rows']} of {n} lines after 600 s")
            time.sleep(0.02)
        seconds = time.perf_counter() - t2
        query.stop()
        out["learn"] = {
            "source": f"file, {batch} lines per file, maxFilesPerTrigger=1",
            "seconds": seconds,
            "rows": n,
            "rows_per_s": n / seconds,
            "accuracy": state["right"] / n,  # the first micro-batch is not predicted: wrong
            "scored_accuracy": state["right"] / state["scored"],
            "unscored": n - state["scored"],
            "micro_batches": state["batches"],
            "fit_seconds": state["fit_s"],
            "per_class": {
                k: {"rows": v[0], "accuracy": v[1] / v[0]} for k, v in state["table"].items()
            },
        }
        expected = pd.Series(labels).value_counts().to_dict()
        out["counts_match"] = (
            table == expected
            and {k: v["rows"] for k, v in out["learn"]["per_class"].items()} == expected
        )
    finally:
        spark.stop()
    return out


def bench_text(args, repeats: int, tmp: Path) -> dict:
    n_text = args.text_lines
    lines, labels = text_lines(n_text)
    payload = "".join(lines).encode()
    fastest = {"key": lambda r: r["seconds"]}  # best of 3 at least, by its own timing
    runs = max(repeats, 3)  # a run takes a second or two: even --quick takes the best of 3
    t = min((run_text_streamlab(payload, n_text) for _ in range(runs)), **fastest)
    c = min((run_text_streamlab(payload, n_text, False) for _ in range(runs)), **fastest)
    expected = pd.Series(labels).value_counts().to_dict()
    assert t["per_class"] == expected and c["per_class"] == expected, (t, c, expected)
    text: dict = {"lines": n_text, "n_features": N_FEATURES, "streamlab": t}
    text["streamlab_counts"] = c
    why = "--no-spark given" if args.no_spark else spark_available()
    text["spark"], text["spark_skipped"] = None, why
    if why is None:
        try:
            text["spark"] = run_spark(lines, labels, args.spark_batch, tmp)
        except Exception as e:  # a missing Java, say: the row is skipped, with the reason
            text["spark_skipped"] = f"Spark failed: {type(e).__name__}: {e}"
    return text
