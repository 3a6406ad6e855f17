"""The dashboard benchmark's producer (``bench_dashboard.py``): standard library + numpy.

argv: chunk rows, rows/s (0: as fast as the socket takes them). Listens on a free loopback
port, prints it, and when the kernel connects sends ``seq,glucose`` CSV: the header, then the
same pre-formatted chunk forever, in blocks of BLOCK rows on an absolute schedule (a producer
held up by the kernel's back-pressure does not make up more than 0.1 s of it). Each line read
from its stdin is a new rate. Ends when the connection closes, when its stdin closes (the
kernel that started it is gone) or after 300 s without a connection.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import numpy as np

BLOCK = 5000


def main(rows: int, rate: list[float]) -> None:
    def control() -> None:
        for line in sys.stdin:
            rate[0] = float(line)
        os._exit(0)  # the kernel that started it is gone

    threading.Thread(target=control, daemon=True).start()
    glucose = np.random.default_rng(0).normal(100, 15, rows)
    lines = [f"{i},{g:.2f}\n".encode() for i, g in enumerate(glucose.tolist())]
    chunk = b"".join(lines)
    blocks = [b"".join(lines[i : i + BLOCK]) for i in range(0, rows, BLOCK)]
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(300)
    print(srv.getsockname()[1], flush=True)
    conn, _ = srv.accept()
    srv.close()
    conn.settimeout(None)
    try:
        conn.sendall(b"seq,glucose\n")
        due = time.monotonic()
        while True:
            if rate[0] <= 0:
                conn.sendall(chunk)
                due = time.monotonic()
                continue
            for block in blocks:
                r = rate[0]
                if r <= 0:
                    break
                due = max(due + BLOCK / r, time.monotonic() - 0.1)
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                conn.sendall(block)
    except OSError:  # the kernel closed the connection (or died)
        pass
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), [float(sys.argv[2])])
