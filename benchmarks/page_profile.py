"""Dashboard benchmark: where the page's main thread spends its time while it streams
(Chromium's task accounting, a sampling JS profile, a trace). See ``bench_dashboard.py``."""

from __future__ import annotations

import json

from dashboard_probes import SERIES, drain_updates, install_update_counter


def bench_page_profile(page, seconds: float) -> dict:
    """The page's main thread over ``seconds`` of streaming: Chromium's own task accounting
    (CDP ``Performance.getMetrics``: script, layout, style recalculation, total task time) and a
    sampling JS profile (CDP ``Profiler``), its self time summed by script and by function."""
    install_update_counter(page, SERIES)
    drain_updates(page)
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Performance.enable")
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})

        def metrics() -> dict:
            return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

        m0 = metrics()
        cdp.send("Profiler.start")
        page.wait_for_timeout(seconds * 1000)
        prof = cdp.send("Profiler.stop")["profile"]
        m1 = metrics()
    finally:
        cdp.detach()
    ups = len(drain_updates(page))
    keys = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
    busy = {k: (m1.get(k, 0) - m0.get(k, 0)) for k in keys}
    nodes = {n["id"]: n for n in prof["nodes"]}
    gaps = prof.get("timeDeltas", [])
    self_us: dict[int, float] = {}
    for nid, dt in zip(prof.get("samples", []), gaps, strict=False):
        self_us[nid] = self_us.get(nid, 0.0) + dt

    def script(nid) -> str:  # the file name of the function's script ("" for native code)
        return (nodes[nid]["callFrame"].get("url") or "").rsplit("/", 1)[-1].split("?")[0]

    def label(nid) -> str:
        cf = nodes[nid]["callFrame"]
        return f"{cf.get('functionName') or '(anonymous)'} {script(nid)}:{cf.get('lineNumber', 0)}"

    by_script: dict[str, float] = {}
    by_func: dict[str, float] = {}
    for nid, us in self_us.items():
        where = script(nid) or nodes[nid]["callFrame"].get("functionName") or "(native)"
        by_script[where] = by_script.get(where, 0.0) + us
        name = label(nid)
        by_func[name] = by_func.get(name, 0.0) + us
    total = sum(self_us.values()) or 1.0
    parent = {c: n["id"] for n in prof["nodes"] for c in n.get("children", ())}

    callers: dict[str, dict[str, float]] = {}  # function -> its callers 3 frames up, by time
    for nid, us in self_us.items():
        chain, p = [], parent.get(nid)
        while p is not None and len(chain) < 3:
            chain.append(label(p).split(" ")[0])
            p = parent.get(p)
        d = callers.setdefault(label(nid), {})
        d[" < ".join(chain)] = d.get(" < ".join(chain), 0.0) + us

    def top(d, n):
        return [
            [k, round(100 * v / total, 1)] for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n]
        ]

    trace = _trace_summary(page, min(seconds, 3.0))
    return {
        "seconds": seconds,
        "page_updates": ups,
        "trace": trace,
        "main_thread_busy_pct": {k: round(100 * v / seconds, 1) for k, v in busy.items()},
        "per_update_ms": {k: round(1e3 * v / max(1, ups), 1) for k, v in busy.items()},
        "js_self_time_by_script_pct": top(by_script, 12),
        "js_self_time_by_function_pct": top(by_func, 25),
        "callers_of_top_functions": {
            name: top(callers.get(name, {}), 3) for name, _ in top(by_func, 8)
        },
    }


def _trace_summary(page, seconds: float) -> dict:
    """A Chromium trace (devtools timeline) of ``seconds``: the page's main thread
    (``CrRendererMain``), its self time per kind of event (nested events subtracted), the top
    ones as % of the span."""
    browser = page.context.browser
    browser.start_tracing(
        page=page, categories=["devtools.timeline", "disabled-by-default-devtools.timeline"]
    )
    page.wait_for_timeout(seconds * 1000)
    events = json.loads(browser.stop_tracing())
    events = events.get("traceEvents", []) if isinstance(events, dict) else events
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    spans = sorted(
        (e for e in events if e.get("ph") == "X" and "dur" in e and (e["pid"], e["tid"]) in main),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    own: dict[str, float] = {}
    stack: list[list] = []  # [event, time of its children]

    def close(until: float) -> None:
        while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= until:
            e, children = stack.pop()
            own[e["name"]] = own.get(e["name"], 0.0) + e["dur"] - children

    for e in spans:
        close(e["ts"])
        if stack:
            stack[-1][1] += e["dur"]
        stack.append([e, 0.0])
    close(float("inf"))
    span_us = seconds * 1e6
    top = sorted(own.items(), key=lambda kv: -kv[1])[:12]
    return {
        "seconds": seconds,
        "main_thread_busy_pct": round(100 * sum(own.values()) / span_us, 1),
        "main_thread_self_pct": {k: round(100 * v / span_us, 1) for k, v in top},
    }
