"""Dashboard benchmark: its targets and its printed report. See ``bench_dashboard.py``."""

from __future__ import annotations

from _harness import check
from dashboard_probes import SERIES

TARGET_INGEST = 1_000_000
RATE = 1_200_000  # the producer's pace: above the target, so that keeping up passes it
KEEP_UP = 0.98  # the pipeline keeps up: it takes at least this share of the producer's rate
TARGET_UPDATES = 30
TARGET_PAUSE_P99_MS = 100


def targets(results: dict) -> list[dict]:
    out = []
    t = results.get("throughput", {})
    out.append(check("ingest rows/s (kernel)", t.get("ingest_rows_per_s"), TARGET_INGEST, unit=""))
    rate = results.get("config_rate")
    if rate:
        keep = t.get("ingest_rows_per_s")
        out.append(
            check(
                "... share of the producer's rate taken",
                None if keep is None else keep / rate,
                KEEP_UP,
                note=f"the producer sends {rate:,.0f} rows/s; lag (s) at the window's ends "
                f"{t.get('lag_s')}",
                unit="",
            )
        )
    out.append(
        check(f"page updates/s ({SERIES})", t.get("page_updates_per_s"), TARGET_UPDATES, unit="")
    )
    mem = results.get("memory", {})
    m = mem.get("second_half", {})
    c = check(
        "page heap growth, 2nd half (MiB)",
        m.get("fitted_growth_mib"),
        m.get("allowed_mib", 2.0),
        "<=",
        "allowed: max(2 MiB, 2 % of the heap)",
        unit="",
    )
    if mem.get("page_updates_per_s_over_run", 0) < 1:
        c |= {"status": "FAIL", "note": "the line was not updating during the run"}
    out.append(c)
    p = results.get("pause", {})
    for key, name in (
        ("play_first_update_from_dom_click_ms", "play: first update from DOM click, p99 ms"),
        ("step_first_update_from_dom_click_ms", "step: first update from DOM click, p99 ms"),
    ):
        c = check(name, (p.get(key) or {}).get("p99"), TARGET_PAUSE_P99_MS, "<=", unit="")
        if p.get("play_step_missed"):
            c |= {"status": "FAIL", "note": f"{p['play_step_missed']} clicks got no update"}
        out.append(c)
    for key, name, target in (
        ("latency_from_dom_click_ms", "pause effect from DOM click, p99 ms", True),
        ("latency_ms", "... from page_now before click(), p99 ms", False),
    ):
        c = check(name, p.get(key, {}).get("p99"), TARGET_PAUSE_P99_MS, "<=", unit="")
        if not p.get("valid", False):
            c |= {"status": "FAIL", "note": "the line was not updating before the clicks"}
        elif not target:  # includes Playwright's own wait before it clicks: context only
            c |= {"status": "info", "note": "includes Playwright's actionability wait"}
        out.append(c)
    return out


def fmt(v, spec: str = ",.0f") -> str:
    """``v`` formatted, or "-" where it was not measured."""
    return "-" if v is None else format(v, spec)


def report(results: dict) -> list[str]:
    lines = []
    for key, head in (
        (
            "throughput",
            f"1. throughput, the producer pacing {fmt(results.get('config_rate'))} rows/s",
        ),
        ("flood", "1b. the producer as fast as the socket takes it (the most the pipeline takes)"),
    ):
        lines += _throughput_lines(results.get(key, {}), head)
    pr = results.get("profile", {})
    if "error" in pr:
        lines.append(f"   profile: ERROR {pr['error']}")
    elif pr:
        lines.append(
            f"   kernel time, cProfile over {pr['seconds']:.1f} s of the kernel's clock "
            "(cumulative wall time, nested):"
        )
        for k, v in pr["share_pct"].items():
            lines.append(f"     {v:5.1f} %  {k}")
    pp = results.get("page_profile", {})
    if "error" in pp:
        lines.append(f"   page profile: ERROR {pp['error']}")
    elif pp:
        busy, per = pp["main_thread_busy_pct"], pp["per_update_ms"]
        lines.append(
            f"   page main thread over {pp['seconds']:g} s ({pp['page_updates']} updates): "
            + ", ".join(f"{k[:-8].lower()} {busy[k]:.0f} % ({per[k]:.1f} ms/update)" for k in busy)
        )
        lines.append("   page JS self time by script: " + ", ".join(
            f"{k} {v:.0f} %" for k, v in pp["js_self_time_by_script_pct"][:6]))  # fmt: skip
        for k, v in pp["js_self_time_by_function_pct"][:12]:
            lines.append(f"     {v:5.1f} %  {k}")
        tr = pp.get("trace", {})
        if tr.get("main_thread_self_pct"):
            lines.append(
                f"   page main thread, Chromium trace of {tr['seconds']:g} s: busy "
                f"{tr['main_thread_busy_pct']:.0f} %; self time "
                + ", ".join(f"{k} {v:.0f} %" for k, v in tr["main_thread_self_pct"].items())
            )
    m = results.get("memory", {})
    if "error" in m:
        lines.append(f"2. page heap: ERROR {m['error']}")
    elif m:
        h, s = m["heap_mib"], m["second_half"]
        lines += [
            f"2. page heap over {m['minutes']:g} min ({m['samples']} samples)",
            f"   first {h['first']:.2f}  last {h['last']:.2f}  max {h['max']:.2f} MiB; "
            f"2nd half slope {s['slope_mib_per_min']:+.3f} MiB/min, fitted growth "
            f"{s['fitted_growth_mib']:+.2f} MiB ({s['fitted_growth_pct']:+.1f} %)",
            f"   kernel RSS first {m['kernel_rss_mib']['first']:.0f} last "
            f"{m['kernel_rss_mib']['last']:.0f} max {m['kernel_rss_mib']['max']:.0f} MiB; "
            f"page updates {m['page_updates_per_s_over_run']:.1f} /s over the run",
        ]
    p = results.get("pause", {})
    if "error" in p:
        lines.append(f"3. pause: ERROR {p['error']}")
    elif p:

        def dist(d):
            return f"p50 {d['p50']:.0f}, p99 {d['p99']:.0f}, max {d['max']:.0f} ms"

        lines += [
            f"3. pause latency ({p['reps']} clicks)",
            "   last update after the click, from the DOM click event: "
            + dist(p["latency_from_dom_click_ms"]),
            f"   ... from page_now() before Playwright's click: {dist(p['latency_ms'])}",
            f"   (Playwright's click reached the DOM after {dist(p['playwright_click_delay_ms'])})",
            "   first update after Play (paused before), from the DOM click: "
            + (
                dist(p["play_first_update_from_dom_click_ms"])
                if p.get("play_first_update_from_dom_click_ms")
                else "-"
            ),
            "   first update after Step (100 rows), from the DOM click: "
            + (
                dist(p["step_first_update_from_dom_click_ms"])
                if p.get("step_first_update_from_dom_click_ms")
                else "-"
            ),
            "   status line says paused, from the DOM click: "
            + dist(p["status_paused_after_dom_click_ms"])
            + ("" if p["valid"] else "  (INVALID: no updates before some clicks)"),
        ]
    return lines


def _throughput_lines(t: dict, head: str) -> list[str]:
    if "error" in t:
        return [f"{head}: ERROR {t['error']}"]
    if not t:
        return []
    return [
        head,
        f"   ingest (kernel)          {fmt(t['ingest_rows_per_s'])} rows/s "
        f"({fmt(t['rows_per_batch'])} rows/batch; status line says "
        f"{fmt(t['status_line_rows_per_s'])} rows/s)",
        f"   page updates             {t['page_updates_per_s']:.1f} /s "
        f"(gap p50 {fmt(t['page_update_gap_ms']['p50'], '.0f')} ms, "
        f"p95 {fmt(t['page_update_gap_ms']['p95'], '.0f')} ms; "
        f"kernel flushes {t['kernel_flushes_per_s']:.1f} /s)",
        f"   CPU                      kernel {t['kernel_cpu_pct']:.0f} %, producer "
        f"{fmt(t['producer_cpu_pct'], '.0f')} %, chromium {t['chromium_cpu_pct']:.0f} %, "
        f"Jupyter server + Playwright + this script {t['harness_cpu_pct']:.0f} %, "
        f"other processes {t['other_processes_cpu_pct']:.0f} %",
        "   lag (a batch's wait in the kernel) at the window's start and end: "
        + ", ".join("-" if v is None else f"{v * 1e3:.1f} ms" for v in t.get("lag_s", [])),
    ]
