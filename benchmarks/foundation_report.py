"""Foundation benchmark: the measurement table and the targets."""

from __future__ import annotations

from _harness import check, ratio

TARGETS = {
    "socket_vs_streamz": 25.0,  # streamlab socket rows/s / streamz lines/s >= 25
    "socket_vs_read_csv": 0.6,  # streamlab socket rows/s / read_csv rows/s >= 0.6
    "replay_p99_ms": 2.0,  # p99 |gap error| <= 2 ms
    "memory_flat_mib": 64.0,  # max-min RSS after warm-up <= 64 MiB
    "memory_growth_mib": 32.0,  # RSS(100%) - RSS(20%) <= 32 MiB
}


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e6:.2f}M/s" if x >= 1e6 else f"{x / 1e3:.0f}k/s"


def report(res: dict, cfg: dict) -> list[str]:
    lines: list[str] = []
    g = res.get
    w = 64

    def row(label, value, extra=""):
        lines.append(f"  {label:<{w}} {value:>14}  {extra}")

    lines.append("measurements")
    s = g("socket", {})
    row(
        f"1. streamlab from_tcp -> map(filter) -> sink  ({cfg['rows']:,} rows)",
        fmt_rate(s.get("rows_per_s")),
        f"best of {cfg['repeats']}, {s.get('mb_per_s', 0):.0f} MB/s, "
        f"{s.get('rows_per_batch', 0):,.0f} rows/batch"
        if "rows_per_s" in s
        else s.get("error", ""),
    )
    z = g("streamz", {})
    row(
        f"2. streamz from_tcp(server) -> sink  ({cfg['streamz_lines']:,} lines, subset)",
        fmt_rate(z.get("lines_per_s")),
        f"lines/s, best of {cfg['repeats']}" if "lines_per_s" in z else z.get("error", ""),
    )
    r = g("read_csv", {})
    row(
        f"3. pandas.read_csv(BytesIO(payload))  ({cfg['rows']:,} rows)",
        fmt_rate(r.get("rows_per_s")),
        f"best of {cfg['repeats']}" if "rows_per_s" in r else r.get("error", ""),
    )
    if "with_filter_rows_per_s" in r:
        row(
            "   (context) read_csv + the same filter on the whole frame",
            fmt_rate(r["with_filter_rows_per_s"]),
            "not a target",
        )
    f = g("replay_fast", {})
    row(
        f"4. streamlab.replay(speed=0) -> sink  ({cfg['rows']:,} rows)",
        fmt_rate(f.get("rows_per_s")),
        f"best of {cfg['repeats']}" if "rows_per_s" in f else f.get("error", ""),
    )
    for key in ("speed_1", "speed_10"):
        t = g("replay_timing", {}).get(key, {})
        e = t.get("abs_err_ms")
        label = (
            f"5. replay {key.replace('_', '=')} |gap error| p50/p99/max "
            f"(gaps {t.get('gap_ms', ['?', '?'])[0]}-{t.get('gap_ms', ['?', '?'])[1]} ms)"
        )
        row(
            label,
            f"{e['p50']:.2f}/{e['p99']:.2f}/{e['max']:.2f} ms" if e else "-",
            f"{t['gaps']} gaps, {t['batches']} batches" if e else t.get("error", ""),
        )
        c = g("replay_timing", {}).get(f"control_{key}", {}).get("abs_err_ms")
        if c:
            row(
                "   (control) bare asyncio timer, same schedule, no streamlab",
                f"{c['p50']:.2f}/{c['p99']:.2f}/{c['max']:.2f} ms",
                "machine jitter floor",
            )
    m = g("memory", {})
    if "rss_mib" in m:
        rm = m["rss_mib"]
        row(
            f"6. client RSS at 20%/50%/100%  ({cfg['rows_memory']:,} rows)",
            f"{rm['at_20pct']:.0f}/{rm['at_50pct']:.0f}/{rm['at_100pct']:.0f} MiB",
            f"before stream {rm['before_stream']:.0f} MiB, peak {rm['peak_hwm']:.0f} MiB, "
            f"{m['samples_in_run']} samples, {fmt_rate(m['rows_per_s'])}",
        )
        row(
            "   RSS max-min after warm-up (first 20% of run)",
            f"{m['after_warmup_max_minus_min_mib']:.1f} MiB",
            f"growth 20%->100% {m['growth_20_to_100_mib']:+.1f} MiB",
        )
    else:
        row(f"6. client RSS  ({cfg['rows_memory']:,} rows)", "-", m.get("error", ""))

    return lines


def targets(res: dict, cfg: dict) -> list[dict]:
    g = res.get
    s, z, r, m = g("socket", {}), g("streamz", {}), g("read_csv", {}), g("memory", {})
    sl, zl, rl = s.get("rows_per_s"), z.get("lines_per_s"), r.get("rows_per_s")
    subset = f"streamz on a {cfg['streamz_lines']:,}-line subset"
    checks = [
        check(
            "streamlab socket / streamz", ratio(sl, zl), TARGETS["socket_vs_streamz"], ">=", subset
        ),
        check("streamlab socket / pandas read_csv", ratio(sl, rl), TARGETS["socket_vs_read_csv"]),
    ]
    for key in ("speed_1", "speed_10"):
        e = g("replay_timing", {}).get(key, {}).get("abs_err_ms")
        name = f"replay {key.replace('_', '=')} p99 |gap error| ms"
        checks.append(check(name, e["p99"] if e else None, TARGETS["replay_p99_ms"], "<=", unit=""))
    flat = m.get("after_warmup_max_minus_min_mib")
    growth = m.get("growth_20_to_100_mib")
    checks.append(check("memory flat: RSS max-min after warm-up MiB", flat,
                        TARGETS["memory_flat_mib"], "<=", unit=""))  # fmt: skip
    checks.append(check("memory flat: RSS growth 20%->100% MiB", growth,
                        TARGETS["memory_growth_mib"], "<=", unit=""))  # fmt: skip
    return checks
