"""``stream.dashboard(...)`` in a real page: JupyterLab and Notebook 7 in headless Chromium.

One notebook per flavor, run once (module-scoped fixture): a paced sine generator
(``RATE`` rows per second of event time, ``speed=1``) with a live line plot and the full
controls, started from a cell; and a replay of a small CSV with bad lines, with a plot and
no controls. Everything is then read back from the page: the BokehJS canvas, the
``series:value`` ColumnDataSource (its length, its newest x, its ``streaming`` signals), the
status line, the Pause / Play buttons, the speed slider, the dead-letter viewer and the
browser's errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

import streamlab

from browser_support import (
    FLAVORS,
    bokeh_data,
    bokeh_source,
    bokeh_sources,
    click_button,
    fail,
    install_update_counter,
    kernel_exec,
    live_notebook,
    output_text,
    page_now,
    set_slider,
    update_times,
    wait_for,
    wait_for_status,
    wait_visible,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RATE = 10  # rows per second of event time: at speed 1, 10 rows/s; at speed 10, 100 rows/s
ROLLOVER = 3000  # more than the test ever streams: the source length only grows
SERIES = "series:value"

# The CSV behind the dead-letter viewer: 3 good rows, 3 bad ones (each for its own reason).
BAD_CSV = """\
time,reading
2026-01-01T00:00:00Z,1.0
2026-01-01T00:00:01Z,2.0
not-a-time,3.0
2026-01-01T00:00:02Z,abc
2026-01-01T00:00:03Z,4.0,extra
2026-01-01T00:00:04Z,5.0
"""
BAD_RAW = ["not-a-time,3.0", "2026-01-01T00:00:02Z,abc", "2026-01-01T00:00:03Z,4.0,extra"]

CELLS = [
    "import streamlab\nprint(streamlab.__file__)",
    f"""\
from streamlab.viz import line

src = streamlab.generate("sine", rate={RATE}, speed=1, period="5s", seed=1)
dash = src.dashboard([line("value", rollover={ROLLOVER})], title="live sine")
dash""",
    "_ = src.start()",
    """\
bad = streamlab.replay(
    "bad.csv", time_column="time", speed=0, dtypes={"reading": "float64"}
)
bad_dash = bad.dashboard(["reading"], title="bad records", controls=False)
bad_dash""",
    "_ = bad.start()",
]


@pytest.fixture(scope="module", params=FLAVORS)
def live(request, tmp_path_factory):
    flavor = request.param
    root = tmp_path_factory.mktemp(f"dashboard-{flavor}")
    (root / "bad.csv").write_text(BAD_CSV)
    with live_notebook(root, "dashboard.ipynb", CELLS, flavor) as result:
        yield result


# -- probes ---------------------------------------------------------------------------------

# One round trip: the page clock, the first dashboard's status line (cell order: the live
# sine's) and the newest x of the newest `series:value` source.
_SAMPLE_JS = """(name) => {
  const el = document.querySelector('.streamlab-status');
  let x = null, length = 0;
  const B = window.Bokeh;
  if (B && B.documents)
    for (const doc of B.documents)
      for (const m of (doc.all_models ?? doc._all_models.values()))  // BokehJS < 3.4: a Map
        if (m.type === 'ColumnDataSource' && m.name === name) {
          const col = m.data.x ?? m.data.get?.('x') ?? [];
          length = col.length;
          x = length ? col[length - 1] : null;
        }
  return {t: performance.now(), status: el ? el.textContent : '', x, length};
}"""


@dataclass
class Sample:
    t: float  # page clock, ms
    status: str
    rows: int  # the status line's row count
    x: float | None  # newest x of the line (event time, ms since the epoch)
    length: int  # rows in the page's series source


def sample(page) -> Sample:
    s = page.evaluate(_SAMPLE_JS, SERIES)
    m = re.search(r"rows ([\d,]+)", s["status"])
    if m is None:
        fail(f"no row count in the status line {s['status']!r}")
    return Sample(s["t"], s["status"], int(m.group(1).replace(",", "")), s["x"], s["length"])


def state(page) -> str:
    return sample(page).status.split(" · ")[0].strip()


def rates(page, seconds: float) -> tuple[float, float]:
    """(rows/s from the status line's row count, event-ms of the plotted line per second),
    both over ``seconds`` of page time."""
    a = sample(page)
    page.wait_for_timeout(seconds * 1000)
    b = sample(page)
    dt = (b.t - a.t) / 1000
    if a.x is None or b.x is None:
        fail(f"no plotted data to measure: {a}, {b}")
    return (b.rows - a.rows) / dt, (b.x - a.x) / dt


def series(page) -> dict:
    source = bokeh_source(page, SERIES)
    if source is None:
        fail(f"no ColumnDataSource {SERIES!r} on the page: {bokeh_sources(page)}")
    return source


# -- the tests ------------------------------------------------------------------------------


def test_kernel_runs_this_streamlab(live):
    assert output_text(live.outputs[0]).strip() == streamlab.__file__


def test_figure_renders(live):
    page = live.page
    canvas = page.locator(".jp-OutputArea-output canvas")  # BokehJS's (open) shadow DOM
    box = wait_visible(canvas, timeout=30, what="the dashboard's bokeh canvas")
    assert box["width"] >= 300 and box["height"] >= 150, box
    src = wait_for(lambda: bokeh_source(page, SERIES), timeout=30, what=SERIES, page=page)
    assert sorted(src["columns"]) == ["x", "y"], src
    for name in ("Play", "Pause", "Step", "Stop"):
        assert page.locator(f"button.jupyter-button:text-is('{name}')").count() == 1, name


def test_data_and_status_advance(live):
    # The first flush adds two renderers (the is_anomaly markers, then the line): a page that
    # shows the first rows and then freezes while the status line counts on is what a stale
    # echo from the page (jupyter_bokeh applying `renderers = [markers]` back) looks like.
    page = live.page
    wait_for(lambda: series(page)["length"] > 0, timeout=30, what="a first plotted row", page=page)
    install_update_counter(page, SERIES)
    s0, n0 = sample(page), len(update_times(page))
    wait_for(
        lambda: len(update_times(page)) >= n0 + 10,
        timeout=30,
        what="10 more streaming updates of the line",
        page=page,
    )
    s1 = wait_for(
        lambda: (s := sample(page)).rows > s0.rows and s,
        timeout=10,
        what="the status line's row count to grow",
        page=page,
    )
    assert s1.length > s0.length, (s0, s1)
    assert s1.x > s0.x, (s0, s1)
    assert s1.status.startswith("running"), s1.status
    # the plotted rows are the streamed ones: y = sin(2 pi t / 5 s) + noise, within the noise
    data = bokeh_data(page, SERIES, ["y"], tail=20)
    assert all(-1.6 < v < 1.6 for v in data["y"]), data


def test_the_page_sends_nothing_back(live):
    # jupyter_bokeh sends the kernel every change of the page's document, the ones its own
    # patches made included (each flush came back as big as it went, and the auto-ranges
    # added more); the page filter (jupyter_bokeh_compat.PAGE_FILTER_JS) lets only bokeh
    # events through. Counted where they arrive: the kernel's OneWayBokehModel.
    # It answers with the number of the newest flush it drew: the dashboard's pacing.
    page = live.page
    probe = "b = dash.bokeh; print(dash.flushes, b.page_events - b.acks, b.acks, b.sent, b.acked)"
    install_update_counter(page, SERIES)
    flushes0, other0, acks0, _, _ = map(int, kernel_exec(page, probe).split())
    n0 = len(update_times(page))
    wait_for(
        lambda: len(update_times(page)) >= n0 + 10,
        timeout=30,
        what="10 more streaming updates of the line",
        page=page,
    )
    flushes1, other1, acks1, sent1, acked1 = map(int, kernel_exec(page, probe).split())
    assert flushes1 >= flushes0 + 10, (flushes0, flushes1)
    assert other1 == other0 <= 2, f"the page sent {other1 - other0} messages back"
    # the newest flush drawn, every ACK_EVERY (0.25 s) at most: 10 updates at 10 rows/s take
    # about a second; never far behind
    assert acks1 - acks0 >= 2 and 0 <= sent1 - acked1 <= 10, (acks0, acks1, sent1, acked1)


def test_pause_stops_updates_and_play_resumes(live):
    page = live.page
    install_update_counter(page, SERIES)
    n0 = len(update_times(page))
    wait_for(
        lambda: len(update_times(page)) > n0 + 3, timeout=30, what="the stream running", page=page
    )
    t_click = page_now(page)
    click_button(page, "Pause")
    # Dashboard.pause() pauses the source, then writes the status line; the refresher may
    # still flush rows emitted before the pause (within one frame, 33 ms) after that.
    t_ack = wait_for_status(page, "paused")
    quiet_from = max(t_click + 300, t_ack + 250)
    page.wait_for_timeout(max(0, quiet_from - page_now(page)) + 50)
    held = sample(page)
    page.wait_for_timeout(1500)  # at 10 rows/s, ~15 updates if it were still streaming
    late = [round(t - t_click) for t in update_times(page) if t > quiet_from]
    assert late == [], f"updates {late} ms after the click (ack after {t_ack - t_click:.0f} ms)"
    after = sample(page)
    assert (after.rows, after.x, after.length) == (held.rows, held.x, held.length), (held, after)
    assert after.status.startswith("paused"), after.status

    n1 = len(update_times(page))
    click_button(page, "Play")
    wait_for(
        lambda: len(update_times(page)) > n1 + 3,
        timeout=30,
        what="streaming updates after Play",
        page=page,
    )
    resumed = wait_for(
        lambda: (s := sample(page)).rows > held.rows and s.status.startswith("running") and s,
        timeout=10,
        what="the status line to count again and say running",
        page=page,
    )
    assert resumed.x > held.x, (held, resumed)


def test_speed_slider_changes_the_rate(live):
    page = live.page
    page.wait_for_timeout(500)  # settle after the previous test's Play
    rows1, event1 = rates(page, 3.0)
    # speed 1: RATE rows/s and 1,000 ms of event time per second (wide bounds: a busy machine)
    assert 0.5 * RATE < rows1 < 1.5 * RATE, rows1
    assert 500 < event1 < 1500, event1
    assert float(set_slider(page, "speed", 10)) == 10
    # wait for the kernel to take it: the line's event time runs faster
    page.wait_for_timeout(800)
    rows10, event10 = rates(page, 3.0)
    assert rows10 / rows1 > 4, (rows1, rows10)
    assert event10 / event1 > 4, (event1, event10)
    assert rows10 < 15 * RATE, rows10  # not "as fast as possible": speed 10 is paced


def test_dead_letter_viewer_shows_bad_records(live):
    page = live.page
    status = page.locator(".streamlab-status").nth(1)  # the second dashboard (bad.csv)
    wait_for(
        lambda: status.inner_text().startswith("finished"),
        timeout=30,
        what="the bad.csv replay to finish",
        page=page,
    )
    text = status.inner_text()
    assert "rows 3 " in text and "bad 3" in text, text
    dead = page.locator("details.streamlab-dead")
    assert dead.count() == 1
    dead.locator("summary").click()  # what a user does to open it
    rows = dead.locator("tr")
    wait_for(lambda: rows.first.is_visible(), timeout=10, what="the dead letters", page=page)
    raws = [c.strip() for c in dead.locator("td code").all_inner_texts()]
    assert sorted(raws) == sorted(BAD_RAW), raws
    reasons = " | ".join(dead.locator("tr td:nth-child(2)").all_inner_texts())
    assert "not a timestamp" in reasons and "expected 2 fields, saw 3" in reasons, reasons
    # the good rows are plotted
    data = wait_for(
        lambda: (d := bokeh_data(page, "series:reading", ["y"])) and len(d["y"]) == 3 and d,
        timeout=10,
        what="the 3 good rows of bad.csv plotted",
        page=page,
    )
    assert data["y"] == [1.0, 2.0, 5.0]


def test_no_browser_errors(live):
    assert live.session.flush() == []
