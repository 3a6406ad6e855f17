"""Foundation benchmark, its data and its helper processes (``bench_foundation.py --_role``).

The payload: ``epoch_ms,value,sensor`` CSV with a header line, rows like
``1700000000123,-4.071,sensor-3`` (epoch ms one apart, seeded), built once; the pacing files; and
the producers that serve it over plain sockets, plus the memory row's client process.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import numpy as np
from _harness import exit_when_parent_goes

HEADER = b"epoch_ms,value,sensor\n"
T0_MS = 1_700_000_000_000
CHUNK_ROWS = 250_000  # generation unit: the file and the on-the-fly producer use the same one
SEED = 20240611
_POW10 = 10 ** np.arange(12, -1, -1, dtype=np.int64)


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
def make_rows(start: int, n: int, seed: int = SEED) -> tuple[bytes, int]:
    """Rows ``start .. start+n-1`` as CSV bytes (no header) and how many have value > 0.

    ``1700000000123,-4.071,sensor-3``: epoch ms one apart, value in [-9.999, 9.999] with three
    decimals, ten sensors. Built as a fixed-width byte matrix with NUL padding that is then
    dropped, so 4M rows take about a second. Deterministic for a given (start, n, seed).
    """
    rng = np.random.default_rng([seed, start])
    t = T0_MS + np.arange(start, start + n, dtype=np.int64)
    v = rng.integers(-9999, 10000, n)
    k = rng.integers(0, 10, n)
    a = np.abs(v)
    m = np.zeros((n, 30), np.uint8)
    m[:, 0:13] = (t[:, None] // _POW10) % 10 + 48
    m[:, 13] = ord(",")
    m[:, 14] = np.where(v < 0, ord("-"), 0)
    m[:, 15] = a // 1000 + 48
    m[:, 16] = ord(".")
    m[:, 17] = (a // 100) % 10 + 48
    m[:, 18] = (a // 10) % 10 + 48
    m[:, 19] = a % 10 + 48
    m[:, 20] = ord(",")
    m[:, 21:28] = np.frombuffer(b"sensor-", np.uint8)
    m[:, 28] = k + 48
    m[:, 29] = ord("\n")
    flat = m.ravel()
    return flat[flat != 0].tobytes(), int((v > 0).sum())


def iter_chunks(rows: int):
    for start in range(0, rows, CHUNK_ROWS):
        yield make_rows(start, min(CHUNK_ROWS, rows - start))


def build_payload(rows: int) -> tuple[bytes, int]:
    parts, positive = [HEADER], 0
    for data, pos in iter_chunks(rows):
        parts.append(data)
        positive += pos
    return b"".join(parts), positive


def write_timing_file(path: Path, rows: int, lo_ms: int, hi_ms: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    gaps = rng.integers(lo_ms, hi_ms + 1, rows - 1)
    t = T0_MS + np.concatenate(([0], np.cumsum(gaps)))
    with open(path, "w") as f:
        f.write(HEADER.decode())
        for i, x in enumerate(t.tolist()):
            f.write(f"{x},{(i % 2000) / 1000:.3f},sensor-{i % 10}\n")


# ------------------------------------------------------------------------------------------
# helper processes (this file run with --_role)
# ------------------------------------------------------------------------------------------
def _listen() -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    return srv


def _serve(send) -> None:
    """Plain-socket server: ``send(conn)`` to each client that connects, then EOF."""
    srv = _listen()
    exit_when_parent_goes()
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            send(conn)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()


def role_serve(args) -> None:
    """Each client that connects gets the whole file, then EOF."""
    payload = Path(args.file).read_bytes()
    _serve(lambda conn: conn.sendall(payload))


def role_serve_gen(args) -> None:
    """``--rows`` rows generated per client in chunks (never all held), then EOF."""

    def send(conn) -> None:
        conn.sendall(HEADER)
        for data, _ in iter_chunks(args.rows):
            conn.sendall(data)

    _serve(send)


def role_push(args) -> None:
    """Client producer for the streamz server: on each ``go PORT`` line from stdin, connect,
    send the first ``--lines`` lines of the file, close, answer ``sent SECONDS``."""
    data = Path(args.file).read_bytes()
    end = -1
    for _ in range(args.lines):
        end = data.index(b"\n", end + 1)
    data = data[: end + 1]
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "go":
            continue
        t = time.perf_counter()
        with socket.create_connection(("127.0.0.1", int(parts[1]))) as c:
            c.sendall(data)
        print(f"sent {time.perf_counter() - t:.6f}", flush=True)


def _rss_now() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None


def role_mem_client(args) -> None:
    """The socket path in its own process: prints ``start`` / ``done`` markers as JSON."""
    import streamlab

    exit_when_parent_goes()  # it runs to completion; still exit if orphaned

    counted = [0]

    def count(df):
        counted[0] += len(df)

    src = streamlab.from_tcp("127.0.0.1", args.port, reconnect=False)
    src.map(lambda df: df[df["value"] > 0]).sink(count)
    print(json.dumps({"event": "start", "rss": _rss_now(), "peak": _peak_rss()}), flush=True)
    t = time.perf_counter()
    [stats] = streamlab.run(src)
    dt = time.perf_counter() - t
    print(
        json.dumps(
            {
                "event": "done",
                "rss": _rss_now(),
                "peak": _peak_rss(),
                "seconds": dt,
                "rows": stats.rows,
                "bad": stats.bad,
                "batches": stats.batches,
                "positive": counted[0],
            }
        ),
        flush=True,
    )
