"""Foundation benchmark: streamlab's socket and replay paths against streamz and pandas.

One run measures, on the same bytes (``epoch_ms,value,sensor`` CSV with a header line):

1. streamlab socket: ``from_tcp`` client <- plain-socket producer in another process;
   ``src.map(filter).sink(count)``; rows/s, best of ``--repeats`` fresh connections.
2. streamz peer: ``Stream.from_tcp`` (a server) ``.sink(count)`` <- producer process that
   connects and sends the first ``--streamz-lines`` lines of the same payload; lines/s.
3. ``pandas.read_csv(io.BytesIO(payload))``: the parse limit, rows/s, best of repeats.
4. ``streamlab.replay(file, time_column="epoch_ms", speed=0)``: rows/s through ``sink``.
5. Replay pacing error at ``speed=1`` (gaps 2-30 ms) and ``speed=10`` (gaps 20-300 ms).
6. Client RSS while ``--rows-memory`` rows go through the socket path (producer generates
   rows on the fly; client in its own process so its RSS is only the stream's).

Usage::

    python benchmarks/bench_foundation.py [--quick] [--out benchmarks/results/foundation.json]

Prints a table with PASS/FAIL for the targets and writes JSON (see benchmarks/README.md).
The same file is also the helper processes (``--_role ...``), so it needs no other files.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from _harness import Run, defaults, parse, parser
from foundation_data import (
    SEED,
    build_payload,
    role_mem_client,
    role_push,
    role_serve,
    role_serve_gen,
    write_timing_file,
)
from foundation_report import report, targets
from foundation_socket import (
    bench_read_csv,
    bench_replay_fast,
    bench_socket,
    bench_streamz,
    profile_socket,
)
from foundation_timing import bench_memory, bench_replay_timing, bench_timer_jitter

ROLES = {"serve": role_serve, "serve-gen": role_serve_gen, "push": role_push,
         "mem-client": role_mem_client}  # fmt: skip


def parse_args(argv=None):
    p = parser("foundation", __doc__)
    p.add_argument("--rows", type=int, help="socket/read_csv/replay rows (4M; quick 1M)")
    p.add_argument(
        "--rows-memory", type=int, help="rows through the socket for the memory row (10M; quick 2M)"
    )
    p.add_argument("--streamz-lines", type=int, help="lines sent to streamz (500k; quick 200k)")
    p.add_argument("--timing-rows", type=int, help="rows per pacing file (400; quick 200)")
    p.add_argument(
        "--mem-interval",
        type=float,
        default=0.02,
        help="RSS sampling interval in seconds (default 0.02: 10M rows take about 2 s)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also run the socket path once under cProfile and print the top",
    )
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--lines", type=int, help=argparse.SUPPRESS)
    a = parse(p, argv, ROLES)
    defaults(a, rows=(1_000_000, 4_000_000), rows_memory=(2_000_000, 10_000_000),
             streamz_lines=(200_000, 500_000), timing_rows=(200, 400), repeats=(3, 3))  # fmt: skip
    a.streamz_lines = min(a.streamz_lines, a.rows + 1)
    return a


def measure(run: Run, args, tmpdir: Path) -> None:
    results, children = run.results, run.children
    t = time.perf_counter()
    payload, positive = build_payload(args.rows)
    data_path = tmpdir / "sensors.csv"
    data_path.write_bytes(payload)
    print(
        f"... payload {len(payload) / 1e6:.1f} MB, {positive:,} rows with value > 0 "
        f"({time.perf_counter() - t:.1f} s)",
        flush=True,
    )

    server = children.spawn("serve", "--file", str(data_path))
    port = int(children.readline(server))
    run.section("socket", bench_socket, port, args.rows, positive, args.repeats)
    if args.profile:
        try:
            results.setdefault("socket", {})["profile_top"] = profile_socket(port)
        except Exception as exc:
            print(f"profile failed: {exc}")
    children.end(server)

    push = children.spawn("push", "--file", str(data_path), "--lines", str(args.streamz_lines))
    if children.readline(push) != "ready":
        raise RuntimeError("push helper did not start")
    run.section("streamz", bench_streamz, push, args.streamz_lines, args.repeats)
    children.end(push)

    run.section("read_csv", bench_read_csv, payload, args.rows, args.repeats)
    del payload
    run.section("replay_fast", bench_replay_fast, data_path, args.rows, args.repeats)

    timing: dict = {}
    for key, speed, gaps in (("speed_1", 1.0, (2, 30)), ("speed_10", 10.0, (20, 300))):
        path = tmpdir / f"timing_{key}.csv"
        write_timing_file(path, args.timing_rows, *gaps, seed=SEED + int(speed))
        run.section(key, bench_replay_timing, path, speed, gaps, args.timing_rows, into=timing)
        run.section(f"control_{key}", bench_timer_jitter, path, speed, into=timing)
    results["replay_timing"] = timing

    run.section("memory", bench_memory, children, args.rows_memory, args.mem_interval)


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    cfg = {
        "rows": args.rows,
        "rows_memory": args.rows_memory,
        "streamz_lines": args.streamz_lines,
        "timing_rows": args.timing_rows,
        "repeats": args.repeats,
        "mem_interval_s": args.mem_interval,
        "seed": SEED,
    }
    print(
        f"streamlab foundation benchmark ({'quick' if args.quick else 'normal'}): "
        f"{args.rows:,} rows, memory {args.rows_memory:,} rows, "
        f"streamz {args.streamz_lines:,} lines"
    )
    with (
        tempfile.TemporaryDirectory(prefix="streamlab-bench-") as tmp,
        Run("foundation", args, script=__file__) as run,
    ):
        measure(run, args, Path(tmp))
    notes = [
        f"streamz is measured on the first {args.streamz_lines:,} lines of the same "
        f"payload (header included); streamlab and read_csv on all {args.rows:,} rows.",
        "gap error = wall-clock gap between consecutive batches - recorded event-time gap / speed.",
    ]
    return run.finish(
        config=cfg,
        targets=targets(run.results, cfg),
        report=report(run.results, cfg),
        packages=("tornado", "pyarrow", "psutil"),
        notes=notes,
    )


if __name__ == "__main__":
    sys.exit(main())
