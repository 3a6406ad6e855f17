"""Compression: every codec on the same sensor CSV, and the time-series codecs on its frame.

    python benchmarks/bench_compress.py [--mb 6] [--interval-ms 1000] [--quick] [--busy] [--out FILE]

Data (seeded): ``epoch_ms,value,sensor`` lines with a header, ``--sensors`` sensors (10) that
each report every ``--interval-ms`` (1000) at the same instants, one line per sensor per
instant; values are per-sensor random walks (steps N(0, 0.05), starts in [-50, 50]) printed
with 3 decimals: ``1700000000000,-33.777,sensor-0``. About ``--mb`` MB (6).

Rows (one table; JSON to benchmarks/results/compress.json, ``results.compress``). MB is
always MB of the CSV bytes (10**6), so every row's ratio and speed compare on the same footing:

1. byte codecs on the CSV bytes through ``streamlab.compress.codec(name)``: zlib 1/6/9, bz2,
   lzma, zstd 3/19, lz4, and the teaching codecs huffman and lzw if they import (else "not
   available"). A codec too slow for the time budget runs on a prefix of the CSV (the row says
   so). Best of ``--repeats`` for runs under a second.
2. time-series codec (lossless) on the **parsed frame** (``pandas.read_csv`` of the same bytes,
   ``epoch_ms`` turned into ``datetime64[ns, UTC]``; parsing is not timed): ratio = CSV bytes /
   encoded frame bytes, speed = CSV MB / seconds of ``encode_frame`` (``decode_frame``). The
   round trip is checked bit for bit. Context rows: zlib entropy stage, no grouping by sensor.
3. lossy codecs on the same frame (values only; times and sensor ids exact), per sensor where
   the algorithm is sequential (``by="sensor"``), with the max abs error against the bound.
4. context: LTTB of one sensor's series down to 1000 points.

Target: the best lossless time-series row reaches >= 3x zstd level 3's ratio at >= zstd 3's
compress MB/s. Those two are timed alternately (``--target-rounds`` each, best of) so that
machine load hits both alike; PASS/FAIL is printed. Decompression speed is reported too.
"""

from __future__ import annotations

import io
import sys
import time

import numpy as np
import pandas as pd
from _harness import Run, check, defaults, parse, parser, repeat

from streamlab.compress import codec
from streamlab.compress.lossy import DeadbandCodec, QuantizeCodec, SwingingDoorCodec, lttb
from streamlab.compress.timeseries import TimeSeriesCodec
from streamlab.errors import ConfigError

SEED = 20260521
BYTE_CODECS = [
    ("zlib-1", "zlib", {"level": 1}),
    ("zlib-6", "zlib", {}),
    ("zlib-9", "zlib", {"level": 9}),
    ("bz2", "bz2", {}),
    ("lzma", "lzma", {}),
    ("zstd-3", "zstd", {}),
    ("zstd-19", "zstd", {"level": 19}),
    ("lz4", "lz4", {}),
    ("huffman", "huffman", {}),
    ("lzw", "lzw", {}),
]


def sensor_csv(mb: float, sensors: int, interval_ms: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    per = int(mb * 1e6 / 29.5) // sensors
    walk = np.cumsum(rng.normal(0, 0.05, (per, sensors)), axis=0) + rng.uniform(-50, 50, sensors)
    t = 1_700_000_000_000 + np.arange(per) * interval_ms
    df = pd.DataFrame(
        {
            "epoch_ms": np.repeat(t, sensors),
            "value": walk.ravel(),
            "sensor": np.tile([f"sensor-{i}" for i in range(sensors)], per),
        }
    )
    return df.to_csv(index=False, float_format="%.3f", lineterminator="\n").encode()


def parse_csv(csv: bytes) -> pd.DataFrame:
    df = pd.read_csv(io.BytesIO(csv))
    df["epoch_ms"] = pd.to_datetime(df["epoch_ms"], unit="ms", utc=True).astype(
        "datetime64[ns, UTC]"
    )
    df.attrs["time_column"] = "epoch_ms"
    return df


def best_time(fn, repeats: int) -> tuple[object, float]:
    """Run once; again up to ``repeats`` times in all if a run takes under a second."""
    t = repeat(fn, repeats, enough_s=1.0)
    return t.result, t.best


def row(
    name: str, kind: str, csv_bytes: int, encoded: int, enc_s: float, dec_s: float, **extra
) -> dict:
    mb = csv_bytes / 1e6
    return {"codec": name, "kind": kind, "csv_bytes": csv_bytes, "encoded_bytes": encoded,
            "ratio": csv_bytes / encoded, "compress_mb_s": mb / enc_s, "decompress_mb_s": mb / dec_s,
            "compress_s": enc_s, "decompress_s": dec_s, **extra}  # fmt: skip


def bench_bytes(csv: bytes, args) -> list[dict]:
    rows = []
    for label, name, params in BYTE_CODECS:
        try:
            c = codec(name, **params)
        except (ImportError, ConfigError) as exc:
            rows.append(
                {
                    "codec": label,
                    "kind": "bytes",
                    "available": False,
                    "note": f"not available ({exc})",
                }
            )
            continue
        data, note = csv, ""
        probe = csv[: 1 << 18]
        _, t = best_time(lambda c=c, p=probe: c.encode(p), 1)
        if t * len(csv) / len(probe) > args.budget_s:  # too slow for the whole CSV
            size = max(len(probe), int(len(probe) * args.budget_s / t) // 2)
            data, note = csv[:size], f"on the first {size / 1e6:.2f} MB (too slow for all)"
        blob, enc = best_time(lambda c=c, d=data: c.encode(d), args.repeats)
        back, dec = best_time(lambda c=c, b=blob: c.decode(b), args.repeats)
        assert back == data, label
        rows.append(row(label, "bytes", len(data), len(blob), enc, dec, note=note))
    return rows


def bench_frame(codec_obj, label: str, kind: str, df: pd.DataFrame, csv_bytes: int, args, **extra):
    blob, enc = best_time(lambda: codec_obj.encode_frame(df), args.repeats)
    out, dec = best_time(lambda: codec_obj.decode_frame(blob), args.repeats)
    if codec_obj.lossless:
        pd.testing.assert_frame_equal(out, df, check_exact=True)
        assert np.array_equal(out["value"].to_numpy().view("i8"), df["value"].to_numpy().view("i8"))
        return row(label, kind, csv_bytes, len(blob), enc, dec, **extra)
    rep = codec_obj.error_report(df, out).iloc[0]
    ok = bool(rep["max_abs_error"] <= rep["bound"])
    return row(label, kind, csv_bytes, len(blob), enc, dec, bound=float(rep["bound"]),
               max_abs_error=float(rep["max_abs_error"]), rmse=float(rep["rmse"]), bound_held=ok, **extra)  # fmt: skip


def bench_target(csv: bytes, df: pd.DataFrame, rounds: int) -> dict:
    """zstd-3 on the CSV and the time-series codec on the frame, timed alternately."""
    z, ts = codec("zstd"), TimeSeriesCodec()
    zb, tb = z.encode(csv), ts.encode_frame(df)
    times = {"zstd_enc": [], "ts_enc": [], "zstd_dec": [], "ts_dec": []}
    for _ in range(rounds):
        for key, fn in (("zstd_enc", lambda: z.encode(csv)), ("ts_enc", lambda: ts.encode_frame(df)),
                        ("zstd_dec", lambda: z.decode(zb)), ("ts_dec", lambda: ts.decode_frame(tb))):  # fmt: skip
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    mb = len(csv) / 1e6
    speed = {k: mb / min(v) for k, v in times.items()}
    out = {"zstd3_ratio": len(csv) / len(zb), "timeseries_ratio": len(csv) / len(tb),
           **{f"{k}_mb_s": v for k, v in speed.items()}, "rounds": rounds}  # fmt: skip
    out["ratio_x"] = out["timeseries_ratio"] / out["zstd3_ratio"]
    out["pass"] = bool(out["ratio_x"] >= 3 and speed["ts_enc"] >= speed["zstd_enc"])
    return out


def bench_lttb(df: pd.DataFrame) -> dict:
    one = df[df["sensor"] == "sensor-0"]
    t, y = one["epoch_ms"], one["value"].to_numpy()
    idx, secs = best_time(lambda: lttb(t, y, 1000), 3)
    return {
        "codec": "lttb",
        "kind": "context",
        "points_in": len(y),
        "points_out": len(idx),
        "seconds": secs,
    }


def fmt(r: dict) -> str:
    if not r.get("available", True):
        return f"{r['codec']:<34} {r['kind']:<9} {'':>8} {'':>10} {'':>10}  {r['note']}"
    if r["codec"] == "lttb":
        return (f"{'lttb (sensor-0, 1000 points)':<34} {'context':<9} {'':>8} {'':>10} {'':>10}  "
                f"{r['points_in']:,} -> {r['points_out']:,} points in {r['seconds'] * 1e3:.1f} ms")  # fmt: skip
    note = r.get("note", "")
    if "bound" in r:
        held = "ok" if r["bound_held"] else "BOUND BROKEN"
        note = f"max err {r['max_abs_error']:.4g} <= {r['bound']:g} {held}, rmse {r['rmse']:.3g}"
    return (f"{r['codec']:<34} {r['kind']:<9} {r['ratio']:>8.2f} {r['compress_mb_s']:>10.1f} "
            f"{r['decompress_mb_s']:>10.1f}  {note}")  # fmt: skip


def parse_args(argv=None):
    p = parser("compress", __doc__)
    p.add_argument("--mb", type=float, help="CSV size in MB (6; quick 1)")
    p.add_argument("--sensors", type=int, default=10)
    p.add_argument("--interval-ms", type=int, default=1000, help="1000 or 100, say")
    p.add_argument("--target-rounds", type=int, help="alternating rounds (7; quick 3)")
    p.add_argument("--budget-s", type=float, help="longest encode a byte codec gets (8; quick 2)")
    p.add_argument("--seed", type=int, default=SEED)
    args = parse(p, argv)
    defaults(args, mb=(1.0, 6.0), repeats=(2, 3), target_rounds=(3, 7), budget_s=(2.0, 8.0))
    return args


def measure(args) -> dict:
    csv = sensor_csv(args.mb, args.sensors, args.interval_ms, args.seed)
    df = parse_csv(csv)
    n = len(csv)
    rows = bench_bytes(csv, args)
    for c, label in [
        (TimeSeriesCodec(), "timeseries (zstd)"),
        (TimeSeriesCodec(entropy="zlib"), "timeseries (zlib)"),
        (TimeSeriesCodec(by=None), "timeseries (zstd, no grouping)"),
    ]:
        rows.append(
            bench_frame(c, label, "frame", df, n, args, methods=c.explain(df)["method"].tolist())
        )
    for c in [
        QuantizeCodec(max_error=0.005),
        QuantizeCodec(max_error=0.05),
        DeadbandCodec(deadband=0.05, by="sensor"),
        DeadbandCodec(deadband=0.2, by="sensor"),
        SwingingDoorCodec(deviation=0.05, by="sensor"),
        SwingingDoorCodec(deviation=0.2, by="sensor"),
    ]:
        rows.append(bench_frame(c, repr(c).replace("Codec", ""), "lossy", df, n, args))
    rows.append(bench_lttb(df))
    data = {"csv_bytes": n, "rows": len(df), "first_line": csv.split(b"\n")[1].decode()}
    return {"data": data, "codecs": rows, "target": bench_target(csv, df, args.target_rounds)}


def report(args, res: dict) -> list[str]:
    d, t = res["data"], res["target"]
    head = f"{'codec':<34} {'input':<9} {'ratio':>8} {'comp MB/s':>10} {'dec MB/s':>10}  note"
    lines = [
        f"{d['csv_bytes'] / 1e6:.2f} MB of CSV, {d['rows']:,} rows, {args.sensors} sensors "
        f"every {args.interval_ms} ms",
        "",
        head,
        "-" * len(head),
        *map(fmt, res["codecs"]),
        "",
        f"target (timed alternately, best of {t['rounds']}): timeseries ratio "
        f"{t['timeseries_ratio']:.2f} vs zstd-3's {t['zstd3_ratio']:.2f}; compress "
        f"{t['ts_enc_mb_s']:.0f} MB/s vs zstd-3 {t['zstd_enc_mb_s']:.0f} MB/s",
        f"(decompress {t['ts_dec_mb_s']:.0f} MB/s vs zstd-3 {t['zstd_dec_mb_s']:.0f} MB/s; "
        "not part of the target)",
    ]
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    with Run("compress", args) as run:
        res = run.section("compress", measure, args)
    t = res.get("target", {})
    speed = t["ts_enc_mb_s"] / t["zstd_enc_mb_s"] if t else None
    checks = [
        check("timeseries ratio / zstd-3 ratio", t.get("ratio_x"), 3.0),
        check("timeseries compress MB/s / zstd-3's", speed, 1.0),
    ]
    config = {k: v for k, v in vars(args).items() if k not in ("out", "_role", "quick")}
    return run.finish(
        config=config,
        targets=checks,
        report=report(args, res) if t else [],
        packages=("zstandard", "lz4", "pyarrow"),
    )


if __name__ == "__main__":
    sys.exit(main())
