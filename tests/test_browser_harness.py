"""The real-browser harness itself: a tiny live notebook (BokehJS inline, a ColumnDataSource
streamed with rollover from an asyncio task on the kernel loop, a Pause button, a speed slider)
run in JupyterLab and in Notebook 7 in headless Chromium, read back through the page."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from browser_support import (
    FLAVORS,
    KNOWN_ERRORS,
    JupyterServer,
    bokeh_data,
    bokeh_source,
    bokeh_sources,
    browser,
    button,
    click_button,
    fail,
    install_update_counter,
    js_heap_bytes,
    live_notebook,
    output_text,
    page_now,
    page_wait,
    set_slider,
    update_times,
    wait_for,
    wait_visible,
    widget_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROLLOVER = 200

CELLS = [
    "import sys\nprint(sys.prefix)\nprint(sys.executable)",
    "from bokeh.io import output_notebook\n"
    "from bokeh.resources import INLINE\n"
    "\n"
    "output_notebook(INLINE, hide_banner=True)",
    f"""\
import asyncio

import ipywidgets as widgets
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from jupyter_bokeh import BokehModel

source = ColumnDataSource({{"i": [], "speed": []}}, name="live")
fig = figure(height=200, width=400)
fig.line("i", "speed", source=source)
pause = widgets.Button(description="Pause")
speed = widgets.FloatSlider(description="speed", min=0, max=10, step=0.1, value=1)
status = widgets.HTML("running")
status.add_class("harness-status")
state = {{"paused": False}}


def toggle(_):
    state["paused"] = not state["paused"]
    status.value = "paused" if state["paused"] else "running"
    pause.description = "Play" if state["paused"] else "Pause"


pause.on_click(toggle)


async def feed():
    i = 0
    while True:
        await asyncio.sleep(0.02)
        if not state["paused"]:
            i += 1
            source.stream({{"i": [i], "speed": [speed.value]}}, rollover={ROLLOVER})


task = asyncio.get_running_loop().create_task(feed())
widgets.VBox([BokehModel(fig), pause, speed, status])""",
]


@pytest.fixture(scope="module", params=FLAVORS)
def live(request, tmp_path_factory):
    flavor = request.param
    root = tmp_path_factory.mktemp(f"browser-{flavor}")
    with live_notebook(root, "live.ipynb", CELLS, flavor) as result:
        yield result


def last_i(page) -> int:
    data = bokeh_data(page, "live", ["i"], tail=1)
    return data["i"][-1] if data and data["i"] else 0


def test_kernel_is_the_test_interpreter(live):
    prefix, executable = output_text(live.outputs[0]).split()
    assert prefix == sys.prefix
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    kernels = [
        p for p in live.server.kernel_processes() if "ipykernel_launcher" in " ".join(p.cmdline())
    ]
    assert len(kernels) == 1, kernels
    assert os.path.realpath(kernels[0].exe()) == os.path.realpath(sys.executable)


def live_source(page) -> dict:
    source = bokeh_source(page, "live")
    if source is None:
        fail(f"no ColumnDataSource named 'live' on the page: {bokeh_sources(page)}")
    return source


def test_figure_renders(live):
    page = live.page
    canvas = page.locator(".jp-OutputArea-output canvas")  # BokehJS's (open) shadow DOM
    box = wait_visible(canvas, timeout=15, what="the bokeh canvas")
    assert box["width"] >= 300 and box["height"] >= 150, box
    sources = [s for s in bokeh_sources(page) if s["name"] == "live"]
    assert len(sources) == 1, bokeh_sources(page)
    assert sorted(sources[0]["columns"]) == ["i", "speed"]


def test_data_advances(live):
    page = live.page
    install_update_counter(page, "live")
    n0, i0 = len(update_times(page)), last_i(page)
    wait_for(
        lambda: len(update_times(page)) >= n0 + 10,
        timeout=20,
        what="10 more stream updates",
        page=page,
    )
    assert last_i(page) > i0


def test_rollover_bounds_the_source(live):
    page = live.page

    def past_rollover():
        src = live_source(page)
        assert src["length"] <= ROLLOVER, src
        return last_i(page) > ROLLOVER + 50

    wait_for(past_rollover, timeout=60, what=f"more than {ROLLOVER + 50} streamed rows", page=page)
    data = bokeh_data(page, "live", ["i"])
    assert len(data["i"]) == ROLLOVER
    assert data["i"] == list(range(data["i"][-1] - ROLLOVER + 1, data["i"][-1] + 1))


def test_pause_stops_updates_and_play_resumes(live):
    page = live.page
    install_update_counter(page, "live")
    n0 = len(update_times(page))
    wait_for(
        lambda: len(update_times(page)) > n0 + 5, timeout=20, what="the stream running", page=page
    )
    t_click = page_now(page)
    click_button(page, "Pause")
    # the kernel flips the flag, then the description: once the page shows "Play", the kernel
    # has stopped streaming (the comm messages arrive in order)
    t_ack = page_wait(
        page,
        "() => [...document.querySelectorAll('button.jupyter-button')]"
        ".some(b => b.textContent.trim() === 'Play') && performance.now()",
        timeout=20,
        what="the kernel to acknowledge Pause",
    )
    assert widget_text(page, ".harness-status") == "paused"
    quiet_from = max(t_click + 300, t_ack)
    page.wait_for_timeout(300)
    i_paused = last_i(page)
    page.wait_for_timeout(1200)  # an absence: 1.5 s would be ~75 updates if still streaming
    late = [round(t - t_click) for t in update_times(page) if t > quiet_from]
    assert late == [], f"updates {late} ms after the click (ack after {t_ack - t_click:.0f} ms)"
    assert last_i(page) == i_paused

    n1 = len(update_times(page))
    click_button(page, "Play")
    wait_for(
        lambda: len(update_times(page)) > n1 + 5, timeout=20, what="the stream resuming", page=page
    )
    assert last_i(page) > i_paused
    assert widget_text(page, ".harness-status") == "running"
    assert button(page, "Pause").count() == 1


def test_slider_value_reaches_the_kernel(live):
    page = live.page

    def last_speed():
        data = bokeh_data(page, "live", ["speed"], tail=1)
        return data["speed"][-1] if data and data["speed"] else None

    wait_for(lambda: last_speed() is not None, timeout=20, what="a streamed row", page=page)
    assert last_speed() == 1.0
    assert set_slider(page, "speed", 3.5) == "3.50"
    # only the kernel writes the speed column: the new value there made the round trip
    wait_for(
        lambda: last_speed() == 3.5, timeout=20, what="speed 3.5 in the streamed data", page=page
    )


def test_no_browser_errors(live):
    assert live.session.flush() == []


# -- the harness's own probes, on a plain page (no Jupyter)


def test_error_collector_and_heap_probe_see_real_events():
    with browser() as session:
        page = session.new_page()
        page.set_content("<p>probe</p>")
        page.evaluate("console.error('boom from console'); console.warn('just a warning')")
        page.evaluate("setTimeout(() => { throw new Error('boom from a timer') })")
        # the known Notebook 7 message, raised from the wrong place, is still an error
        page.evaluate(
            "setTimeout(() => { undefined.schema })"  # same TypeError text as the known one
        )
        wait_for(lambda: len(session.errors) >= 3, timeout=10, what="3 errors", page=page)
        assert session.errors[0].startswith("console.error: boom from console")
        assert session.errors[1].startswith("pageerror: boom from a timer")
        assert session.errors[2].startswith(
            "pageerror: Cannot read properties of undefined (reading 'schema')"
        )
        assert session.ignored == []
        # ...while from Notebook 7's bundle it is the known, documented one
        known = KNOWN_ERRORS[0]
        assert known.matches("pageerror", known.text, "at x (/static/notebook/notebook_core.1.js)")
        assert not any("just a warning" in e for e in session.errors)

        before = js_heap_bytes(page)
        # 4M doubles in a plain array: ~32 MB on the V8 heap (typed arrays would live outside)
        page.evaluate("() => { window.big = new Array(4_000_000).fill(0.5) }")
        grown = js_heap_bytes(page)
        page.evaluate("() => { delete window.big }")
        after = js_heap_bytes(page)
        assert grown - before > 25e6, (before, grown)
        assert grown - after > 25e6, (grown, after)


def test_server_stop_leaves_no_kernel_processes(tmp_path):
    with JupyterServer(tmp_path, "lab") as server:
        server.api("kernels", "POST", {"name": "python3"})
        procs = wait_for(server.kernel_processes, timeout=30, what="a kernel process")
        pids = [p.pid for p in procs]
        group = server.proc.pid
    assert server.proc is None
    gone = [pid for pid in [*pids, group] if not psutil.pid_exists(pid)]
    assert gone == [*pids, group]
