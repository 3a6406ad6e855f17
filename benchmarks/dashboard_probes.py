"""Dashboard benchmark, the probes: code sent to the notebook's kernel from the page, what the
page records, and one function per row (throughput, profile, pause, page memory). See
``bench_dashboard.py`` for what each row measures.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
from _harness import SPIN, cpu_marks

TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from browser_support import (
    click_button,
    install_update_counter,
    js_heap_bytes,
    kernel_exec,
    page_now,
    wait_for_status,
)

MIB = 1 << 20
SERIES = "series:glucose"  # the line's first series (TimeSeries._add_series)

SNAPSHOT = """\
import json as _j, time as _t
print(_j.dumps({"t": _t.monotonic(), "rows": src.stats.rows, "batches": src.stats.batches,
    "flushes": dash.flushes, "thinned": sum(p.thinned for p in dash.plots),
    "lag": src.stats.lag, "state": dash.status()["state"]}))
"""

PROFILE_ON = """\
import cProfile as _cp, time as _t
_bench_prof = _cp.Profile()
_bench_t0 = _t.monotonic()
_bench_prof.enable()
"""

# Sum the profile into the parts of the pipeline (cumulative seconds; they nest: the source's
# pump holds framing, parsing and emit_batch; emit_batch holds rolling and the dashboard's sink;
# flush holds concat, the line's and the histogram's _send; the line's holds LTTB and stream;
# the one PATCH-DOC per flush holds bokeh's serialisation and the comm send).
PROFILE_OFF = """\
import json as _j, pstats as _ps
_bench_prof.disable()
_secs = _t.monotonic() - _bench_t0
_st = _ps.Stats(_bench_prof).stats
_parts = {
    "source: tcp pump (all below the socket)": ("sources/connection.py", "pump"),
    "pump > LineFramer.push": ("parse/framing.py", "push"),
    "pump > Parser.parse_pieces (CSV)": ("parse/base.py", "parse_pieces"),
    "pump > emit_batch (pipeline below the source)": ("core/source.py", "emit_batch"),
    "emit > rolling.update": ("ops/rolling.py", "update"),
    "emit > dashboard sink: Plot.push": ("viz/plot_base.py", "push"),
    "flush: Dashboard.flush": ("viz/dashboard.py", "flush"),
    "flush > pandas concat": ("pandas/core/reshape/concat.py", "concat"),
    "flush > line: TimeSeries._send": ("viz/timeseries.py", "_send"),
    "line > lttb_indices (tsdownsample)": ("viz/decimate.py", "lttb_indices"),
    "line > ColumnDataSource.stream": ("bokeh/models/sources.py", "stream"),
    "flush > histogram: Histogram._send": ("viz/histogram.py", "_send"),
    "flush > one PATCH-DOC: _send_patch": ("viz/jupyter_bokeh_compat.py", "_send_patch"),
    "patch > inline_patch (serialise)": ("viz/jupyter_bokeh_compat.py", "inline_patch"),
    "patch > comm send": ("ipywidgets/widgets/widget.py", "send"),
    "status line: update_status": ("viz/dashboard.py", "update_status"),
}
_out = {}
for _name, (_file, _func) in _parts.items():
    _out[_name] = sum(v[3] for k, v in _st.items() if k[0].endswith(_file) and k[2] == _func)
_top = sorted(_st.items(), key=lambda kv: -kv[1][2])[:15]
print(_j.dumps({"kernel_seconds": _secs, "parts": _out, "top_tottime": [
    [f"{k[0].split('site-packages/')[-1].split('/work/main/')[-1]}:{k[1]}({k[2]})", v[2], v[3]]
    for k, v in _top]}))
del _bench_prof
"""

# A capture listener: the page time of each click on a widget button, by its label.
CLICK_SPY_JS = """() => {
  if (window.__bench_clicks) return;
  window.__bench_clicks = [];
  document.addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('button.jupyter-button');
    if (b) window.__bench_clicks.push([b.textContent.trim(), performance.now()]);
  }, true);
}"""

STATUS_JS = """() => {
  const el = document.querySelector('.streamlab-status');
  return {t: performance.now(), text: el ? el.textContent : ''};
}"""


def snapshot(page) -> dict:
    t0 = time.perf_counter()
    snap = json.loads(kernel_exec(page, SNAPSHOT))
    snap["roundtrip_ms"] = (time.perf_counter() - t0) * 1e3
    return snap


def status_rows(page) -> tuple[float, int, str]:
    s = page.evaluate(STATUS_JS)
    m = re.search(r"rows ([\d,]+)", s["text"])
    return s["t"], (int(m.group(1).replace(",", "")) if m else -1), s["text"]


def drain_updates(page) -> list[float]:
    """The recorded streaming timestamps (page ms), removed from the page."""
    return page.evaluate("() => (window.__streamlab_updates || []).splice(0)")


def cpu_seconds(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            c = p.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def chromium_procs() -> list[psutil.Process]:
    return [
        p for p in psutil.Process().children(recursive=True) if "chrom" in (p.name() or "").lower()
    ]


def harness_procs() -> list[psutil.Process]:
    """This process and every one below it (the Jupyter server, Playwright's driver, ...)."""
    me = psutil.Process()
    out = []
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if SPIN not in p.cmdline():  # the --busy spinner is someone else's load
                out.append(p)
    return out


def kernel_procs(server) -> list[psutil.Process]:
    return [p for p in server.kernel_processes() if "ipykernel" in " ".join(p.cmdline())]


def machine_busy() -> float:
    return cpu_marks()[0]


# ------------------------------------------------------------------------------------------
# 1. ingest and page updates


def bench_throughput(page, server, window: float, producer_pid: int | None = None) -> dict:
    install_update_counter(page, SERIES)
    drain_updates(page)
    kprocs, cprocs = kernel_procs(server), chromium_procs()
    pprocs = [p for p in server.kernel_processes() if p.pid == producer_pid]
    known = {p.pid for p in kprocs + cprocs + pprocs}
    hprocs = [p for p in harness_procs() if p.pid not in known]  # server, Playwright, this
    w0 = time.monotonic()
    k_cpu0, c_cpu0, busy0 = cpu_seconds(kprocs), cpu_seconds(cprocs), machine_busy()
    p_cpu0, h_cpu0 = cpu_seconds(pprocs), cpu_seconds(hprocs)
    a = snapshot(page)
    p0, srows0, _ = status_rows(page)
    drain_updates(page)
    page.wait_for_timeout(window * 1000)
    ups = drain_updates(page)
    p1, srows1, stext = status_rows(page)
    b = snapshot(page)
    k_cpu1, c_cpu1, busy1 = cpu_seconds(kprocs), cpu_seconds(cprocs), machine_busy()
    p_cpu1, h_cpu1 = cpu_seconds(pprocs), cpu_seconds(hprocs)
    dt_w = time.monotonic() - w0  # the span of the CPU readings
    dt_k = b["t"] - a["t"]
    dt_p = (p1 - p0) / 1e3
    gaps = [y - x for x, y in itertools.pairwise(ups)]
    ours = (k_cpu1 - k_cpu0) + (c_cpu1 - c_cpu0) + (p_cpu1 - p_cpu0) + (h_cpu1 - h_cpu0)
    return {
        "window_s": dt_k,
        "rows": b["rows"] - a["rows"],
        "ingest_rows_per_s": (b["rows"] - a["rows"]) / dt_k,
        "rows_per_batch": (b["rows"] - a["rows"]) / max(1, b["batches"] - a["batches"]),
        "status_line_rows_per_s": (srows1 - srows0) / dt_p,
        "status_line_at_end": stext,
        "page_updates": len(ups),
        "page_updates_per_s": len(ups) / dt_p,
        "page_update_gap_ms": {
            "p50": statistics.median(gaps) if gaps else None,
            "p95": _pct(gaps, 95),
            "max": max(gaps) if gaps else None,
        },
        "kernel_flushes_per_s": (b["flushes"] - a["flushes"]) / dt_k,
        "kernel_rows_thinned": b["thinned"] - a["thinned"],
        "kernel_cpu_pct": 100 * (k_cpu1 - k_cpu0) / dt_w,
        "chromium_cpu_pct": 100 * (c_cpu1 - c_cpu0) / dt_w,
        "producer_cpu_pct": 100 * (p_cpu1 - p_cpu0) / dt_w if pprocs else None,
        "harness_cpu_pct": 100 * (h_cpu1 - h_cpu0) / dt_w,
        "other_processes_cpu_pct": 100 * max(0.0, (busy1 - busy0) - ours) / dt_w,
        "kernel_request_roundtrip_ms": [a["roundtrip_ms"], b["roundtrip_ms"]],
        "lag_s": [a["lag"], b["lag"]],
    }


def set_rate(page, rate: float, settle: float = 2.0) -> None:
    """Tell the producer (through its stdin, from the kernel that started it) to send
    ``rate`` rows/s (0: as fast as the socket takes them); then let ``settle`` seconds pass."""
    kernel_exec(page, f"producer.stdin.write('{rate:g}\\n'); producer.stdin.flush()")
    page.wait_for_timeout(settle * 1000)


def bench_profile(page, seconds: float) -> dict:
    kernel_exec(page, PROFILE_ON)
    page.wait_for_timeout(seconds * 1000)
    prof = json.loads(kernel_exec(page, PROFILE_OFF))
    # the profile runs from the kernel's handling of PROFILE_ON to that of PROFILE_OFF: each
    # request may wait for the kernel a different time, so its length is the kernel's own
    prof["page_seconds"] = seconds
    prof["seconds"] = secs = prof["kernel_seconds"]
    prof["share_pct"] = {k: round(100 * v / secs, 1) for k, v in prof["parts"].items()}
    return prof


# ------------------------------------------------------------------------------------------
# 3. pause latency


def bench_pause(page, reps: int) -> dict:
    page.evaluate(CLICK_SPY_JS)
    install_update_counter(page, SERIES)
    runs = []
    for rep in range(reps):
        page.evaluate("() => { window.__bench_clicks.length = 0 }")
        click_button(page, "Play")
        page.wait_for_timeout(1000)
        ups = drain_updates(page)
        flowing = len(ups)
        # Play and Step: the first update after the click (from rep 1: the stream is paused)
        play = _first_after(ups, _dom_click(page, "Play")) if rep else None
        page.evaluate("() => { window.__bench_clicks.length = 0 }")
        t_before = page_now(page)
        click_button(page, "Pause")
        t_ack = wait_for_status(page, "paused")
        page.wait_for_timeout(700)
        after = [t for t in drain_updates(page) if t > t_before]
        clicks = [
            t for label, t in page.evaluate("() => window.__bench_clicks") if label == "Pause"
        ]
        t_event = clicks[0] if clicks else t_before
        last = max(after) if after else None
        click_button(page, "Step")  # 100 rows, then paused again
        page.wait_for_timeout(500)
        step = _first_after(drain_updates(page), _dom_click(page, "Step"))
        runs.append(
            {
                "play_first_update_ms": play,
                "step_first_update_ms": step,
                "updates_in_the_second_before": flowing,
                "updates_after_click": len(after),
                "latency_ms": (last - t_before) if last is not None else 0.0,
                "latency_from_dom_click_ms": max(0.0, last - t_event) if last is not None else 0.0,
                "dom_click_after_ms": t_event - t_before,
                "status_paused_after_ms": t_ack - t_before,
            }
        )
    click_button(page, "Play")
    lat = [r["latency_ms"] for r in runs]
    dom = [r["latency_from_dom_click_ms"] for r in runs]
    ack = [r["status_paused_after_ms"] - r["dom_click_after_ms"] for r in runs]
    pw = [r["dom_click_after_ms"] for r in runs]
    play = [r["play_first_update_ms"] for r in runs if r["play_first_update_ms"] is not None]
    step = [r["step_first_update_ms"] for r in runs if r["step_first_update_ms"] is not None]
    return {
        "play_first_update_from_dom_click_ms": _dist(play) if play else None,
        "step_first_update_from_dom_click_ms": _dist(step) if step else None,
        "play_step_missed": sum(
            r["step_first_update_ms"] is None or (i and r["play_first_update_ms"] is None)
            for i, r in enumerate(runs)
        ),
        "reps": reps,
        # a latency of 0 proves nothing unless the line was updating before each click
        "valid": all(r["updates_in_the_second_before"] >= 5 for r in runs),
        "latency_ms": _dist(lat),
        "latency_from_dom_click_ms": _dist(dom),
        "status_paused_after_dom_click_ms": _dist(ack),
        "playwright_click_delay_ms": _dist(pw),
        "runs": runs,
    }


def _dom_click(page, label: str) -> float | None:
    """The page time of the newest DOM click on the button ``label`` (the click spy's)."""
    times = [t for name, t in page.evaluate("() => window.__bench_clicks") if name == label]
    return times[-1] if times else None


def _first_after(updates: list[float], t: float | None) -> float | None:
    """Milliseconds from ``t`` to the first update after it (None: no click, or no update)."""
    later = [u for u in updates if t is not None and u > t]
    return min(later) - t if later else None


# ------------------------------------------------------------------------------------------
# 2. page memory


def bench_memory(page, server, minutes: float, every: float) -> dict:
    install_update_counter(page, SERIES)
    drain_updates(page)
    kprocs = kernel_procs(server)
    start = time.monotonic()
    end = start + minutes * 60
    samples, updates = [], 0
    while True:
        t = time.monotonic() - start
        heap = js_heap_bytes(page)
        ups = len(drain_updates(page))
        updates += ups
        rss = sum(p.memory_info().rss for p in kprocs if p.is_running())
        samples.append([round(t, 1), heap, rss, updates])
        print(
            f"    {t:6.0f} s  heap {heap / MIB:7.2f} MiB  kernel RSS {rss / MIB:7.1f} MiB  "
            f"updates {updates:,}",
            flush=True,
        )
        if time.monotonic() >= end:
            break
        page.wait_for_timeout(max(0.0, min(every, end - time.monotonic())) * 1000)
    ts = [s[0] for s in samples]
    heaps = [s[1] for s in samples]
    half = [s for s in samples if s[0] >= ts[-1] / 2]
    slope = _slope([s[0] for s in half], [s[1] for s in half])  # bytes per second
    span = half[-1][0] - half[0][0]
    growth = slope * span
    mean_half = statistics.fmean(s[1] for s in half)
    return {
        "minutes": minutes,
        "sample_every_s": every,
        "samples": len(samples),
        "heap_mib": {
            "first": heaps[0] / MIB,
            "last": heaps[-1] / MIB,
            "max": max(heaps) / MIB,
            "min": min(heaps) / MIB,
        },
        "second_half": {
            "from_s": half[0][0],
            "to_s": half[-1][0],
            "samples": len(half),
            "slope_mib_per_min": slope * 60 / MIB,
            "fitted_growth_mib": growth / MIB,
            "fitted_growth_pct": 100 * growth / mean_half,
            "allowed_mib": max(2.0, 0.02 * mean_half / MIB),
        },
        "kernel_rss_mib": {
            "first": samples[0][2] / MIB,
            "last": samples[-1][2] / MIB,
            "max": max(s[2] for s in samples) / MIB,
        },
        "page_updates_per_s_over_run": updates / max(1e-9, ts[-1]),
        "series": [[s[0], round(s[1] / MIB, 3), round(s[2] / MIB, 1), s[3]] for s in samples],
    }


# ------------------------------------------------------------------------------------------
# helpers


def _pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def _dist(xs) -> dict:
    """p50, p99 (linear between the sorted values, numpy's default) and max."""
    p50, p99 = np.percentile(xs, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(max(xs))}


def _slope(xs, ys) -> float:
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
