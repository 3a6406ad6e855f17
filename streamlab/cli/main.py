"""The ``streamlab`` command: serve, record, demo, lab.

A bad argument prints one line naming it and the fix, and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ..errors import StreamlabError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, then exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _positive(name):
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(
                f"{name} must be >= 0, not {text}; use 1 for the recorded timing, 0 for as fast "
                "as possible"
            )
        return value

    return convert


def _build() -> argparse.ArgumentParser:
    p = _Parser(prog="streamlab", description="Explore live data streams: serve, record, demo.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("serve", help="serve a file as a live stream (TCP, or UDP datagrams)")
    s.add_argument("path", help="CSV, JSONL, text or syslog file, optionally .gz")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=9999, help="TCP port (default 9999; 0 = any free)")
    s.add_argument(
        "--speed",
        type=_positive("--speed"),
        default=1.0,
        help="1 = recorded timing, 10 = ten times faster, 0 = as fast as possible",
    )
    s.add_argument("--time-column", help="column with the event time that paces the replay")
    s.add_argument("--format", help="csv, jsonl, text or syslog (default: from the file name)")
    s.add_argument("--loop", action="store_true", help="play the file again and again")
    s.add_argument("--udp", metavar="HOST:PORT", help="send UDP datagrams to HOST:PORT instead")

    r = sub.add_parser("record", help="capture a live stream to a file with arrival times")
    how = r.add_mutually_exclusive_group(required=True)
    how.add_argument("--tcp", metavar="HOST:PORT", help="connect to a TCP server")
    how.add_argument("--udp", metavar="PORT", type=int, help="listen for UDP datagrams")
    r.add_argument(
        "--host",
        help="address to listen on with --udp (default 127.0.0.1, this machine only; 0.0.0.0 "
        "for every interface)",
    )
    r.add_argument("--out", required=True, help="file to write (.csv or .jsonl)")
    r.add_argument("--parse", default="csv", help="csv, jsonl, text or syslog (default csv)")
    r.add_argument("--columns", help="comma-separated column names (needed for CSV over UDP)")
    r.add_argument("--seconds", type=_positive("--seconds"), help="stop after this many seconds")
    r.add_argument("--rows", type=int, help="stop after this many rows")

    d = sub.add_parser("demo", help="the main job: replay, attach, clean, aggregate, report")
    d.add_argument("--out", default="demo-output", help="folder for report.html")

    lab = sub.add_parser("lab", help="open JupyterLab on the tutorial notebooks")
    lab.add_argument("--dir", help="work on copies of the notebooks in this folder")
    return p


async def _serve(a) -> None:
    from ..sources.serve import ReplayServer, send_udp
    from .hostport import parse_hostport

    if a.udp:
        target = parse_hostport(a.udp)
        src = await send_udp(
            a.path, target, speed=a.speed, time_column=a.time_column, loop=a.loop, format=a.format
        )
        print(f"streamlab serve: sent {src.stats.rows:,} rows to udp {target[0]}:{target[1]}")
        return
    server = await ReplayServer(
        a.path,
        host=a.host,
        port=a.port,
        speed=a.speed,
        time_column=a.time_column,
        loop=a.loop,
        format=a.format,
    ).start()
    print(
        f"streamlab serve: {a.path} on tcp {server.host}:{server.port} "
        f"(speed {a.speed:g}; Ctrl-C to stop)",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


async def _record(a) -> None:
    from ..errors import ConfigError
    from ..sources.tcp import from_tcp
    from ..sources.udp import from_udp
    from .hostport import parse_hostport
    from .record import record

    if a.rows is not None and a.rows < 1:
        raise ConfigError(f"--rows must be >= 1, not {a.rows}")
    options = {"columns": a.columns.split(",")} if a.columns else {}
    if a.tcp:
        if a.host is not None:
            raise ConfigError(
                f"--host {a.host} is the address to listen on with --udp; with --tcp the "
                f"address to connect to is in HOST:PORT, such as --tcp {a.host}:9999"
            )
        host, port = parse_hostport(a.tcp, what="--tcp")
        src = from_tcp(host, port, parse=a.parse, **options)
    else:  # a listener: loopback unless told otherwise, like every streamlab listener
        host = "127.0.0.1" if a.host is None else a.host
        src = from_udp(a.udp, host=host, parse=a.parse, **options)
    n = await record(src, a.out, seconds=a.seconds, rows=a.rows)
    print(
        f"streamlab record: {n:,} rows to {a.out} ({src.stats.bad} bad records, "
        f"{src.stats.reconnects} reconnects)"
    )


def main(argv: list[str] | None = None) -> int:
    args = _build().parse_args(argv)
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
        elif args.command == "record":
            asyncio.run(_record(args))
        elif args.command == "demo":
            from .demo import run_demo

            run_demo(Path(args.out))
        elif args.command == "lab":
            from .lab import run_lab

            return run_lab(Path(args.dir) if args.dir else None, [])
    except StreamlabError as exc:
        print(f"streamlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
