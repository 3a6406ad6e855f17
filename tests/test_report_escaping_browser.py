"""A hostile stream in a real browser (Debian's Chromium): a saved report, and a live dashboard.

The stream's column names, keys and values (and a malformed line, which becomes a dead letter)
are HTML that would run script if any of it reached the page as markup. The report is opened
from ``file://`` as a person would open it; the live dashboard runs in JupyterLab. Each test
waits until the tables have rendered and until an image that fails to load (a probe put in by
the test) has had its ``onerror`` run, so any hostile ``<img onerror>`` put in before it has
had its chance too; then it asserts that no hostile script ran and that every hostile string
is on the page as text.
"""

from __future__ import annotations

import pytest

import streamlab
from streamlab.viz import Dashboard, counters, histogram, line, table

from browser_support import browser, fail, live_notebook, page_wait, wait_visible

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

IMG = '<img src=x onerror="window.__pwned=1">'  # a column name
SCRIPT = "<script>window.__pwned=2</script>"  # another column name
KEY_IMG = '<img src=x onerror="window.__pwned=3">'  # keys (the `by` column)
KEY_SCRIPT = "<script>window.__pwned=4</script>"
BAD = 'oops <img src=x onerror="window.__pwned=5">'  # a value that is not a number
TITLE = 'report <img src=x onerror="window.__pwned=6">'


def q(field: str) -> str:
    """A CSV field, quoted."""
    return '"' + field.replace('"', '""') + '"'


CSV = "\n".join(
    [
        f"time,key,{q(IMG)},{q(SCRIPT)}",
        f"2026-01-01T00:00:00Z,{q(KEY_IMG)},1.0,2.0",
        f"2026-01-01T00:00:01Z,{q(KEY_SCRIPT)},2.0,3.0",
        f"2026-01-01T00:00:02Z,{q(KEY_IMG)},3.0,1.0",
        f"2026-01-01T00:00:03Z,<b>bold</b>,{q(BAD)},1.0",
        f"2026-01-01T00:00:04Z,{q(KEY_SCRIPT)},5.0,4.0",
        "",
    ]
)

# Every element in the page, open shadow roots included (BokehJS renders into them).
_DEEP_JS = """(selector) => {
  const out = [];
  const walk = (root) => {
    out.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return out.map((el) => el.textContent);
}"""

# The probe: an image that cannot load, put in after the report rendered; resolves when its
# onerror has run (image loads and their errors are handled in the order they were asked).
_PROBE_JS = """() => new Promise((resolve) => {
  const img = document.createElement('img');
  img.onerror = () => resolve(true);
  img.src = 'streamlab-probe-missing.png';
  document.body.appendChild(img);
})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "hostile.csv").write_text(CSV)
    src = streamlab.replay(
        root / "hostile.csv",
        time_column="time",
        speed=0,
        dtypes={IMG: "float64", SCRIPT: "float64"},
    )
    plots = [table(), line(IMG, by="key"), histogram(SCRIPT), counters(src)]
    dash = Dashboard(src, plots, title=TITLE, live=False, controls=False)
    streamlab.run(src)
    assert src.stats.rows == 4 and src.stats.bad == 1
    return dash.save(root / "report.html")


def test_hostile_names_keys_and_values_stay_text_in_a_saved_report(report):
    with browser() as session:
        page = session.new_page()
        page.goto(report.as_uri())
        headers = page.locator(".slick-column-name")
        wait_visible(headers, timeout=60, what="the table's column headers")
        page_wait(
            page,
            f"() => ({_DEEP_JS})('.slick-column-name').length >= 6",
            timeout=30,
            what="both tables' headers",
        )
        page.evaluate(_PROBE_JS)  # the probe's onerror has run: so has any earlier one's
        pwned = page.evaluate("() => window.__pwned")
        if pwned is not None:
            fail(f"hostile markup from the stream ran in the report: window.__pwned = {pwned}")

        names = page.evaluate(_DEEP_JS, ".slick-column-name")
        assert IMG in names and SCRIPT in names, names
        cells = page.evaluate(_DEEP_JS, ".slick-cell")
        assert KEY_IMG in cells and KEY_SCRIPT in cells, cells
        for text in (IMG, SCRIPT, KEY_IMG, KEY_SCRIPT):
            wait_visible(page.get_by_text(text, exact=True), timeout=10, what=repr(text))
        # the dead letter (its reason and raw line) and the title, as text
        dead = page.evaluate(_DEEP_JS, "details.streamlab-dead")
        assert len(dead) == 1 and BAD in dead[0] and "not a valid float64" in dead[0], dead
        assert page.evaluate(_DEEP_JS, "h2") == [TITLE]
        assert page.title() == TITLE
        # no element the stream named: every <img> on the page is the probe
        assert page.evaluate(_DEEP_JS, "img") == [""]
        assert "bold" not in page.evaluate(_DEEP_JS, "b")  # the dead letter's <b> is text too
        # the one resource that failed to load is the probe (a hostile <img src=x> would be
        # a second one)
        errors = session.flush()
        assert len(errors) == 1 and "streamlab-probe-missing.png" in errors[0], errors


LIVE_CELLS = [
    f"""\
import pandas as pd
from streamz import Stream
from streamlab.compress import codec
from streamlab.viz import Dashboard, line, table

IMG, SCRIPT, KEY_IMG, KEY_SCRIPT = {IMG!r}, {SCRIPT!r}, {KEY_IMG!r}, {KEY_SCRIPT!r}
src = Stream()
frames = src.decompress("zlib")  # a frame that does not decode is a dead letter
dash = Dashboard(frames, [table(), line(IMG, by="key")], title={TITLE!r}, live=False)
dash""",
    """\
t = pd.date_range("2026-01-01", periods=4, freq="1s", tz="UTC")
df = pd.DataFrame({"time": t, "key": [KEY_IMG, KEY_SCRIPT] * 2, IMG: [1.0, 2, 3, 4], SCRIPT: 1.0})
src.emit(codec("zlib").encode_frame(df))
src.emit(KEY_IMG.encode())
dash.refresh()
print(dash.status()["bad"])""",
]


def test_hostile_names_keys_and_values_stay_text_in_a_live_dashboard(tmp_path):
    with live_notebook(tmp_path, "hostile.ipynb", LIVE_CELLS, "lab") as live:
        page = live.page
        assert "1" in str(live.outputs[1]), live.outputs[1]  # the dead letter was counted
        page_wait(
            page,
            f"() => ({_DEEP_JS})('.slick-column-name').length >= 4",
            timeout=60,
            what="the live table's column headers",
        )
        page.evaluate(_PROBE_JS)
        pwned = page.evaluate("() => window.__pwned")
        if pwned is not None:
            fail(f"hostile markup from the stream ran in the live dashboard: {pwned}")
        names = page.evaluate(_DEEP_JS, ".slick-column-name")
        assert IMG in names and SCRIPT in names, names
        cells = page.evaluate(_DEEP_JS, ".slick-cell")
        assert KEY_IMG in cells and KEY_SCRIPT in cells, cells
        shown = page.locator(".slick-column-name, .slick-cell")  # (dead letters: folded)
        for text in (IMG, SCRIPT, KEY_IMG, KEY_SCRIPT):
            wait_visible(shown.filter(has_text=text), timeout=10, what=repr(text))
        dead = page.evaluate(_DEEP_JS, "details.streamlab-dead")
        assert len(dead) == 1 and KEY_IMG in dead[0] and "not a streamlab frame" in dead[0]
        assert TITLE in page.evaluate(_DEEP_JS, "h3")
        assert [i for i in page.evaluate(_DEEP_JS, "img") if i] == []  # only the probe's
