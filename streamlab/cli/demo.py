"""``streamlab demo``: the main job, offline and headless, on a bundled real dataset.

A replay server on loopback plays a year of sea temperatures from a buoy in the Gulf of Maine
(every 30 minutes) at ten million times its recorded pace, with three malformed lines slipped
in. A client pipeline attaches over TCP, cleans the readings, and from them: closes daily
windows on event time (mean, min, max), marks anomalies (robust z-score over the two days
before each reading), measures three codecs batch by batch, and learns online, test then train,
whether the next reading will be warmer (a prequential accuracy curve). It stores the readings
in SQLite, prints a summary and saves a snapshot of its dashboard with all of it and the dead
letters (``Dashboard.save``: a standalone bokeh page, BokehJS inline, so it opens offline).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import datasets
from ..sources.serve import ReplayServer
from ..sources.tcp import from_tcp

__all__ = ["Warmer", "run_demo"]

SPEED = 10_000_000
VALID_C = (-3.0, 35.0)  # sea water at this buoy: anything outside is a sensor fault
INJECTED = {
    100: b"2016-02-17T02:00:00Z,B01\n",  # a field missing
    5000: b"2016-05-29T12:00:00Z,B01,warm\n",  # not a number
    15000: b"\xff\xfe garbage from a flaky serial line\n",  # not even text
}


class Warmer:
    """The learning task of the demo: will this reading be warmer than the one before? From
    what was known before it: the last two changes and the hour of day (as a point on a
    circle: the sun warms the surface by day). Carries the last three readings across
    batches, so the features do not depend on where batches are cut; the first three
    readings of the stream have no two changes before them and are left out.

    Examples
    --------
    >>> w = Warmer()
    >>> t = pd.date_range("2026-01-01", periods=5, freq="30min", tz="UTC")
    >>> a = w(pd.DataFrame({"time": t[:3], "temperature_c": [5.0, 5.5, 5.25]}))
    >>> b = w(pd.DataFrame({"time": t[3:], "temperature_c": [6.0, 5.0]}))
    >>> pd.concat([a, b])[["change_1", "change_2", "warmer"]].values.tolist()
    [[-0.25, 0.5, True], [0.75, -0.25, False]]
    """

    FEATURES = ("change_1", "change_2", "hour_sin", "hour_cos")

    def __init__(self) -> None:
        self.last = np.full(3, np.nan)  # the three readings before the batch

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        t = df["temperature_c"].to_numpy("float64")
        both = np.concatenate([self.last, t])
        self.last = both[-3:]
        change = np.diff(both)  # change[i + 2]: reading i minus the one before it
        hour = (df["time"].dt.hour + df["time"].dt.minute / 60).to_numpy("float64")
        out = pd.DataFrame(
            {
                "time": df["time"],
                "change_1": change[1:-1],
                "change_2": change[:-2],
                "hour_sin": np.sin(2 * np.pi * hour / 24),
                "hour_cos": np.cos(2 * np.pi * hour / 24),
                "warmer": change[2:] > 0,
            },
            index=df.index,
        )
        return out[np.isfinite(out["change_2"].to_numpy())]


def _daily(closed: list[pd.DataFrame]) -> pd.DataFrame:
    """The daily windows the pipeline closed, by day: mean, min and max (°C)."""
    days = pd.concat(closed, ignore_index=True).set_index("window_start")
    days.index.name = "day"
    return days.rename(columns=lambda c: c.removeprefix("temperature_c_"))[["mean", "min", "max"]]


def _curve_point(metrics: dict) -> dict:
    return {k: metrics.get(k, np.nan) for k in ("rows", "accuracy", "window_accuracy")}


async def _pipeline(out_dir: Path) -> dict:
    from sklearn.linear_model import SGDClassifier

    from ..learn import RunningScaler
    from ..viz import Dashboard, histogram, line, scatter, table

    path = datasets.path("sea_temperature")
    server = await ReplayServer(
        path, port=0, speed=SPEED, time_column="time", inject=INJECTED
    ).start()
    src = from_tcp(
        "127.0.0.1",
        server.port,
        reconnect=False,
        time_column="time",
        dtypes={"temperature_c": "float64"},
    )
    low, high = VALID_C
    cleaned = {"dropped": 0}

    def clean(df: pd.DataFrame) -> pd.DataFrame:
        ok = df["temperature_c"].between(low, high)
        cleaned["dropped"] += int((~ok).sum())
        return df[ok]

    kept = src.map(clean)
    # the two days of readings before each one; robust z > 10: far off its neighbours
    scored = kept.robust_zscore("temperature_c", window=96, threshold=10.0)
    days = kept.window("1D", agg={"temperature_c": ["mean", "min", "max"]})
    ratios = kept.compare(["zlib", "zstd", "timeseries"])
    features = kept.map(Warmer())
    labelled = features.sink_to_list()
    learner = features.learn(
        SGDClassifier(loss="log_loss", alpha=0.01, random_state=0),
        transform=RunningScaler(),
        target="warmer",
        features=list(Warmer.FEATURES),
        classes=[False, True],
        window=500,
    )
    # the learning curve: the learner's metrics after each batch, against the rows seen
    curve = learner.map(lambda _: pd.DataFrame([_curve_point(learner.metrics)]))
    dash = Dashboard(
        kept,
        [
            line(
                "temperature_c",
                on=scored,
                max_points=20_000,
                rollover=20_000,
                title="Sea temperature, °C (anomalies marked: robust z > 10 over two days)",
            ),
            line(
                ["temperature_c_mean", "temperature_c_min", "temperature_c_max"],
                x="window_start",
                on=days,
                rollover=1000,
                title="Daily mean, min and max, °C (windows on event time)",
            ),
            scatter(
                "ratio",
                by="codec",
                x="time",
                on=ratios,
                title="Compression ratio of each batch (its rows as CSV / the codec's frame)",
            ),
            line(
                ["accuracy", "window_accuracy"],
                x="rows",
                on=curve,
                title="Will the next reading be warmer? Prequential accuracy (test, then train)",
            ),
            histogram("temperature_c", bins=40, window=20_000, title="Readings, °C"),
            table(rows=8, title="The last readings"),
        ],
        title="streamlab demo: sea temperature at buoy B01",
        live=False,
        controls=False,
    )
    raw = kept.sink_to_list()
    flagged = scored.filter(lambda d: bool(d["temperature_c_rz_anomaly"].any())).sink_to_list()
    measured = ratios.sink_to_list()
    closed = days.sink_to_list()
    db = out_dir / "readings.db"
    db.unlink(missing_ok=True)
    stored = kept.to_sqlite(db, "readings", indexes=("time",))
    errors = src.errors.sink_to_list()
    started = time.perf_counter()
    src.start()
    try:
        await src.wait()
    finally:
        await server.stop()
    elapsed = time.perf_counter() - started
    stored.close()
    readings = pd.concat(raw, ignore_index=True)
    letters = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame()
    anomalies = (
        pd.concat(flagged, ignore_index=True).query("temperature_c_rz_anomaly")
        if flagged
        else pd.DataFrame(columns=["time", "temperature_c"])
    )
    per_batch = pd.concat(measured, ignore_index=True)
    labels = pd.concat(labelled, ignore_index=True)["warmer"]
    return {
        "db": db,
        "stored": stored.stats.rows,
        "ratios": _ratios(readings),
        "batch_ratios": per_batch.groupby("codec")["ratio"].median().to_dict(),
        "stats": src.stats,
        "elapsed": elapsed,
        "readings": readings,
        "daily": _daily(closed),
        "windows": days.stats,
        "day_windows": pd.concat(closed, ignore_index=True),
        "anomalies": anomalies,
        "learned": dict(learner.metrics),
        "baseline": float(max(labels.mean(), 1 - labels.mean())),
        "dead": letters,
        "dropped": cleaned["dropped"],
        "port": server.port,
        "dashboard": dash,
        "expected_rows": datasets.DATASETS["sea_temperature"]["rows"],
    }


def _ratios(readings: pd.DataFrame) -> dict:
    """How small the kept readings get: general codecs on their CSV, the time-series codec."""
    from ..compress import codec
    from ..parse.serialize import header_bytes, to_bytes

    text = header_bytes(readings, "csv") + to_bytes(readings, "csv")
    out = {name: len(text) / len(codec(name).encode(text)) for name in ("zlib", "zstd")}
    out["timeseries"] = len(text) / len(codec("timeseries").encode_frame(readings))
    return out


def _coldest_hour(db: Path) -> str:
    from ..store import Store

    row = (
        Store(db)
        .query("SELECT time, temperature_c FROM readings ORDER BY temperature_c LIMIT 1")
        .iloc[0]
    )
    return f"{row['time']:%Y-%m-%d %H:%M} ({row['temperature_c']:.3f} °C)"


def _summary(r: dict, report: Path) -> str:
    s, daily, readings = r["stats"], r["daily"], r["readings"]
    warm, cold = daily["mean"].idxmax(), daily["mean"].idxmin()
    lines = [
        "streamlab demo: sea temperature at NERACOOS buoy B01 (Gulf of Maine), every 30 min",
        f"  served     127.0.0.1:{r['port']} at {SPEED:,}x the recorded pace, 3 bad lines "
        "slipped in",
        f"  received   {s.rows:,} rows in {s.batches} batches ({s.bytes:,} bytes) in "
        f"{r['elapsed']:.2f} s; {s.bad} bad records went to dead letters:",
    ]
    for row in r["dead"].itertuples():
        lines.append(f"               offset {row.offset:>7}: {row.reason}  (raw {row.raw[:40]!r})")
    lines += [
        f"  cleaned    {r['dropped']} readings outside {VALID_C[0]}..{VALID_C[1]} °C dropped; "
        f"{len(readings):,} kept",
        f"  event time {readings['time'].min():%Y-%m-%d} to {readings['time'].max():%Y-%m-%d}, "
        f"{len(daily)} days",
        f"  daily mean {daily['mean'].mean():.2f} °C; coldest day {cold:%Y-%m-%d} "
        f"({daily.loc[cold, 'mean']:.2f} °C), warmest {warm:%Y-%m-%d} "
        f"({daily.loc[warm, 'mean']:.2f} °C)",
        f"  stored     {r['stored']:,} rows in {r['db']} (one transaction per batch, time "
        f"index); SQL says the coldest reading was {_coldest_hour(r['db'])}",
        f"  windows    {r['windows'].fired} daily windows closed on event time (mean, min, max)",
        f"  anomalies  {len(r['anomalies'])} readings more than 10 robust z from the two days "
        f"before them, on {r['anomalies']['time'].dt.floor('D').nunique()} days",
        f"  learned    'will the next reading be warmer?', test then train on "
        f"{r['learned']['rows']:,} readings: accuracy {r['learned']['accuracy']:.3f} (always "
        f"answering the commoner answer: {r['baseline']:.3f})",
        f"  compressed {r['ratios']['zlib']:.1f}x zlib, {r['ratios']['zstd']:.1f}x zstd, "
        f"{r['ratios']['timeseries']:.1f}x with the time-series codec (same readings as CSV); "
        f"batch by batch (median): "
        + ", ".join(f"{k} {v:.1f}x" for k, v in sorted(r["batch_ratios"].items())),
        f"  report     {report}",
    ]
    return "\n".join(lines)


def _report(r: dict, path: Path) -> None:
    s = r["stats"]
    r["dashboard"].save(
        path,
        notes=(
            f"<p>{s.rows:,} rows in {s.batches} batches over a real TCP socket on loopback, "
            f"{s.bad} bad records in the dead-letter stream (below), {r['dropped']} readings "
            f"cleaned out; {len(r['daily'])} days aggregated on event time; "
            f"{len(r['anomalies'])} anomalies marked; a classifier learned online to "
            f"{r['learned']['accuracy']:.3f} accuracy (the commoner answer: "
            f"{r['baseline']:.3f}).</p><p>Data: NERACOOS "
            "buoy B01, see datasets/README.md for provenance and licence.</p>"
        ),
    )


def run_demo(out_dir) -> dict:
    """Run the demo; write ``out_dir/report.html``; print and return the results."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(_pipeline(out_dir))
    report = out_dir / "report.html"
    _report(result, report)
    print(_summary(result, report))
    return result
