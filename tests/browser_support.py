"""Real-browser helpers: a private Jupyter server (JupyterLab or Notebook 7), the system Chromium
driven by Playwright's sync API, and probes into the live page (BokehJS documents, ipywidgets).

Everything runs offline on loopback. Tests import it like ``support``::

    from browser_support import JupyterServer, browser, run_all_cells

Waits are bounded; a timeout fails the test (``pytest.fail``) with the recent browser console,
the browser errors and the Jupyter server's log tail appended, so a red run says what the page
and the server saw.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

Flavor = Literal["lab", "notebook"]
FLAVORS: tuple[Flavor, ...] = ("lab", "notebook")


@dataclass(frozen=True)
class KnownError:
    """A browser error that is Jupyter's own and harmless here. It matches only when the kind,
    the whole message and the code it comes from (``where``: a substring of the error's stack or
    console location) all agree."""

    kind: Literal["pageerror", "console.error"]
    text: str
    where: str
    why: str

    def matches(self, kind: str, text: str, where: str) -> bool:
        return kind == self.kind and text == self.text and self.where in where


# Matching errors go to ``BrowserSession.ignored`` (kept, never dropped); all others go to
# ``BrowserSession.errors``, which tests assert empty. Add an entry only with its evidence.
KNOWN_ERRORS: tuple[KnownError, ...] = (
    KnownError(
        kind="pageerror",
        text="Cannot read properties of undefined (reading 'schema')",
        where="/static/notebook/notebook_core.",
        why=(
            "Notebook 7.6.5 on every page load, before any cell runs, also with the user's own"
            " config: the @jupyterlab/shortcuts-extension pluginChanged handler reads"
            " plugins['@jupyterlab/shortcuts-extension:shortcuts'].schema while its own settings"
            " reload is in flight (seen for '@jupyterlab/docmanager-extension:plugin'). JupyterLab"
            " 4.6 does not raise it."
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Diagnostics: every running server / browser registers a callable that describes its state;
# ``fail`` appends them all to the failure message.

_diagnostics: dict[int, Callable[[], str]] = {}


def fail(message: str) -> None:
    """``pytest.fail`` with the browser console and server log tails appended."""
    parts = [message]
    for describe in list(_diagnostics.values()):
        with contextlib.suppress(Exception):
            parts.append(describe())
    pytest.fail("\n\n".join(parts), pytrace=False)


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, what: str, page=None, poll: float = 0.05
):
    """Poll ``predicate`` (Python side) until it returns something truthy; return that value.

    Pass ``page`` whenever a browser is open: the pause between polls is then
    ``page.wait_for_timeout``, during which Playwright delivers page events (console, page
    errors); a plain ``time.sleep`` would hold them back until the next Playwright call."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout}s waiting for {what} (last value: {value!r})")
        if page is not None:
            page.wait_for_timeout(poll * 1000)
        else:
            time.sleep(poll)


def page_wait(page, js: str, arg: Any = None, *, timeout: float, what: str) -> Any:
    """Wait in the page until ``js`` (a function of ``arg``) returns something truthy; return its
    JSON value. Polls every 50 ms (not on animation frames, which background tabs throttle)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        handle = page.wait_for_function(js, arg=arg, timeout=timeout * 1000, polling=50)
    except PlaywrightTimeout:
        fail(f"timed out after {timeout}s waiting in the page for {what}")
    value = handle.json_value()
    handle.dispose()
    return value


def wait_visible(locator, *, timeout: float, what: str) -> dict:
    """Wait until ``locator`` (first match) is visible; return its bounding box."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.first.wait_for(state="visible", timeout=timeout * 1000)
    except PlaywrightTimeout:
        fail(f"timed out after {timeout}s waiting for {what} to be visible")
    return locator.first.bounding_box()


# --------------------------------------------------------------------------------------------
# The Jupyter server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A private ``jupyter lab`` / ``jupyter notebook`` (Notebook 7) on a free loopback port.

    Same interpreter as the tests (``sys.executable``); own process group; config, data,
    runtime, IPython and Lab settings/workspace directories in a temp dir, so the user's setup
    cannot leak in; no news, update checks or PyPI extension manager. ``window.jupyterapp`` is
    exposed so the helpers can read kernel and cell state. On exit the process group gets
    SIGTERM, then SIGKILL; kernels (which jupyter_client starts in their own sessions) are
    killed by pid if the server's own shutdown left any.
    """

    def __init__(
        self, root_dir: str | os.PathLike, flavor: Flavor = "lab", *, startup_timeout: float = 90
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        self.root_dir = Path(root_dir).resolve()
        self.flavor: Flavor = flavor
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._home: Path | None = None
        self._log_file = None
        self.log_path: Path | None = None
        self.leftovers: list[psutil.Process] = []

    # -- urls
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Browser URL opening notebook ``path`` (relative to root_dir) in this flavor."""
        path = str(path).lstrip("/")
        route = "lab/tree" if self.flavor == "lab" else "notebooks"
        return f"{self.base_url}/{route}/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET", body: Any = None) -> Any:
        """Call the REST API ``/api/<path>`` (token in the header); return the decoded JSON."""
        from urllib.request import Request, urlopen

        data = None if body is None else json.dumps(body).encode()
        req = Request(f"{self.base_url}/api/{path}", data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        with urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    # -- logs
    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _describe(self) -> str:
        return f"--- jupyter {self.flavor} server log (last 40 lines) ---\n{self.log_tail()}"

    # -- lifecycle
    def _env(self) -> dict[str, str]:
        assert self._home is not None
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER", "IPYTHON", "JPY_")) and k != "PYTHONSTARTUP"
        }
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "IPYTHONDIR": "ipython",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        }
        for var, sub in dirs.items():
            d = self._home / sub
            d.mkdir()
            env[var] = str(d)
        env["JUPYTER_PLATFORM_DIRS"] = "1"  # silences the path-migration notice
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _write_config(self) -> None:
        assert self._home is not None
        # Read by the server and handed to every extension app (LabApp is also loaded under
        # Notebook 7); keys for classes that are not loaded are ignored.
        config = {
            "ServerApp": {"open_browser": False},
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                "extension_manager": "readonly",
                "expose_app_in_browser": True,
            },
            "JupyterNotebookApp": {"expose_app_in_browser": True},
        }
        (self._home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))

    def start(self) -> JupyterServer:
        self._home = Path(tempfile.mkdtemp(prefix=f"streamlab-jupyter-{self.flavor}-"))
        env = self._env()
        self._write_config()
        self.port = free_port()
        self.log_path = self._home / "server.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            self.flavor,
            "--no-browser",
            "--allow-root",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.open_browser=False",
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _diagnostics[id(self)] = self._describe
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        from urllib.error import URLError

        def up():
            if self.proc.poll() is not None:
                fail(f"jupyter {self.flavor} exited with code {self.proc.returncode} on start-up")
            try:
                return self.api("status")
            except (URLError, OSError, ValueError):
                return None

        wait_for(
            up, timeout=self.startup_timeout, what=f"jupyter {self.flavor} to answer", poll=0.1
        )

    def kernel_processes(self) -> list[psutil.Process]:
        """Every live process the server started (kernels and their children)."""
        if self.proc is None:
            return []
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace: float = 8.0) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        spawned = []
        with contextlib.suppress(psutil.NoSuchProcess):
            spawned = psutil.Process(proc.pid).children(recursive=True)
        if proc.poll() is None:
            # SIGTERM: jupyter_server shuts its kernels down, then exits.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers left in the server's group
        # Kernels run in their own sessions: whatever survived the server's shutdown goes now.
        _, alive = psutil.wait_procs(spawned, timeout=3)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        _, alive = psutil.wait_procs(alive, timeout=3)
        _diagnostics.pop(id(self), None)
        if self._log_file is not None:
            self._log_file.close()
        self.leftovers = alive
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
        if alive:
            raise RuntimeError(f"processes survived SIGKILL: {alive}")

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# The browser


class BrowserSession:
    """The system Chromium under Playwright. Every page of its context reports console errors
    and uncaught page errors into ``errors`` (list of strings, in order); all console messages
    are kept in ``console`` for failure messages."""

    def __init__(self, playwright, browser, context) -> None:
        self.playwright = playwright
        self.browser = browser
        self.context = context
        self.errors: list[str] = []
        self.ignored: list[str] = []
        self.console: list[str] = []
        context.on("page", self._watch)

    def _record(self, kind: str, text: str, where: str) -> None:
        first = where.strip().splitlines()[0].strip() if where.strip() else ""
        line = f"{kind}: {text}" + (f"  ({first})" if first else "")
        if any(k.matches(kind, text, where) for k in KNOWN_ERRORS):
            self.ignored.append(line)
        else:
            self.errors.append(line)

    def _watch(self, page) -> None:
        def on_console(msg) -> None:
            loc = msg.location or {}
            where = f"{loc.get('url', '')}:{loc.get('lineNumber', '')}" if loc.get("url") else ""
            self.console.append(f"[{msg.type}] {msg.text}" + (f"  ({where})" if where else ""))
            if msg.type == "error":
                self._record("console.error", msg.text, where)

        def on_pageerror(exc) -> None:
            stack = getattr(exc, "stack", None) or ""
            self.console.append(f"[pageerror] {exc.message}\n{stack}")
            # the stack's first frame is the message again; the location is in the rest
            self._record("pageerror", exc.message, "\n".join(stack.splitlines()[1:]))

        def on_crash(crashed) -> None:
            self._record("crash", "page crashed", crashed.url)

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("crash", on_crash)

    def flush(self) -> list[str]:
        """Deliver every event the open pages sent so far (one round trip each); return
        ``errors``. Call before asserting on ``errors``."""
        for page in self.context.pages:
            if not page.is_closed():
                page.evaluate("0")
        return self.errors

    def new_page(self):
        """A new tab (console/pageerror already watched)."""
        return self.context.new_page()

    def describe(self, lines: int = 30) -> str:
        text = "\n".join(self.console[-lines:]) or "(empty)"
        errs = "\n".join(self.errors) or "(none)"
        return f"--- browser console (last {lines}) ---\n{text}\n--- browser errors ---\n{errs}"


# One Playwright driver and one Chromium per process, shared by nested ``browser()`` blocks:
# Playwright's sync API cannot run two drivers at once in a thread.
_shared: dict[str, Any] = {"users": 0}


def _chromium():
    if _shared["users"] == 0:
        from playwright.sync_api import sync_playwright

        manager = sync_playwright()
        pw = manager.__enter__()
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except BaseException:
            manager.__exit__(None, None, None)
            raise
        _shared.update(manager=manager, playwright=pw, browser=b)
    _shared["users"] += 1
    return _shared["playwright"], _shared["browser"]


def _release_chromium() -> None:
    _shared["users"] -= 1
    if _shared["users"] == 0:
        try:
            _shared.pop("browser").close()
        finally:
            _shared.pop("playwright")
            _shared.pop("manager").__exit__(None, None, None)


@contextlib.contextmanager
def browser(*, viewport: tuple[int, int] = (1280, 900)) -> Iterator[BrowserSession]:
    """A fresh browser context (own cookies, storage and error list) in the system Chromium,
    headless, driven by Playwright's sync API. Chromium starts with the first open block and
    stops when the last one closes; blocks may nest (e.g. a module fixture and a test).

    Call from synchronous code only (the sync API refuses to run inside a running asyncio
    loop; pytest's sync tests and fixtures have none, even with asyncio_mode=auto)."""
    pw, b = _chromium()
    try:
        context = b.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        session = BrowserSession(pw, b, context)
        _diagnostics[id(session)] = session.describe
        try:
            yield session
        finally:
            _diagnostics.pop(id(session), None)
            context.close()
    finally:
        _release_chromium()


# --------------------------------------------------------------------------------------------
# Notebook UI

# The open notebook panel (Lab: the current main-area widget; Notebook 7: the only one).
_PANEL_JS = """
const panel = () => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  return w && w.sessionContext && w.content && w.content.model ? w : null;
};
"""

_KERNEL_READY_JS = (
    "() => {"
    + _PANEL_JS
    + """
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog) return {dialog: dialog.innerText};
  const w = panel();
  if (!w || !w.context.isReady || !w.sessionContext.isReady) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle' && {ready: true};
}"""
)


def _wait_kernel_ready(page, *, timeout: float, what: str) -> None:
    state = page_wait(page, _KERNEL_READY_JS, timeout=timeout, what=what)
    if "dialog" in state:  # e.g. "Select Kernel" when the notebook names no kernelspec
        fail(f"a dialog blocks the notebook: {state['dialog']!r}")


_CLEAR_JS = (
    "async () => {"
    + _PANEL_JS
    + """
  await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
  const cells = panel().content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code' && c.executionCount !== null) return false;
  }
  return true;
}"""
)

# {done, running, errors, counts, status}: done once every code cell has an execution count,
# no prompt shows [*] and the kernel is idle; errors = error outputs seen so far.
_RUN_STATE_JS = (
    "() => {"
    + _PANEL_JS
    + """
  const w = panel();
  if (!w) return {done: false, why: 'no notebook panel'};
  const cells = w.content.model.cells;
  const counts = [], errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    counts.push(c.executionCount);
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error')
        errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  }
  const running = [...w.node.querySelectorAll('.jp-InputPrompt')]
    .filter(p => p.textContent.includes('[*]')).length;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const status = k ? k.status : 'no kernel';
  const done = counts.every(n => n !== null) && running === 0 && status === 'idle';
  return {done, running, errors, counts, status};
}"""
)

_OUTPUTS_JS = (
    "() => {"
    + _PANEL_JS
    + """
  const cells = panel().content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i), outs = [];
    if (c.type === 'code')
      for (let j = 0; j < c.outputs.length; j++) outs.push(c.outputs.get(j).toJSON());
    out.push(outs);
  }
  return out;
}"""
)


def open_notebook(page, url: str, *, timeout: float = 90) -> None:
    """Navigate to a notebook URL and wait until its kernel is connected and idle."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    _wait_kernel_ready(page, timeout=timeout, what=f"the notebook and kernel at {url}")


def _menu(page, *labels: str) -> None:
    """Click through the Lumino menu bar, e.g. ``_menu(page, "Run", "Run All Cells")``."""
    top, *rest = labels
    page.locator(
        ".lm-MenuBar-item", has=page.locator(f'.lm-MenuBar-itemLabel:text-is("{top}")')
    ).click()
    for label in rest:
        page.locator(
            ".lm-Menu:visible .lm-Menu-item",
            has=page.locator(f'.lm-Menu-itemLabel:text-is("{label}")'),
        ).click()


def run_all_cells(
    page, flavor: Flavor, *, url: str | None = None, timeout: float = 120
) -> list[list[dict]]:
    """Run every cell of the notebook (menu Run → Run All Cells, same in Lab 4 and Notebook 7).

    With ``url`` the notebook is opened first. Waits for the kernel to be idle, clears old
    outputs and execution counts, runs, then waits until every code cell has an execution count,
    no ``[*]`` prompt is left and the kernel is idle. Fails at once on an error output. Returns
    each cell's outputs (nbformat dicts). Background tasks a cell started keep running.
    Reads kernel and cell state from ``window.jupyterapp``, which ``JupyterServer`` exposes.
    """
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
    expected = "/lab" if flavor == "lab" else "/notebooks/"
    if url is not None:
        open_notebook(page, url, timeout=timeout)
    if expected not in page.url:
        fail(f"page {page.url} is not a {flavor} notebook page")
    _wait_kernel_ready(page, timeout=timeout, what="an idle, connected kernel")
    page_wait(page, _CLEAR_JS, timeout=10, what="old outputs and counts to clear")
    _menu(page, "Run", "Run All Cells")

    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(_RUN_STATE_JS)
        if state.get("errors"):
            fail("a cell raised: " + "; ".join(state["errors"]))
        if state.get("done"):
            return page.evaluate(_OUTPUTS_JS)
        if time.monotonic() > deadline:
            fail(f"cells still running after {timeout}s: {state}")
        page.wait_for_timeout(100)


def notebook_outputs(page) -> list[list[dict]]:
    """Each cell's outputs (nbformat dicts) as the page's notebook model holds them now."""
    return page.evaluate(_OUTPUTS_JS)


def output_text(outputs: list[dict]) -> str:
    """The text of one cell's stream / text-plain outputs, concatenated."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif "data" in o and "text/plain" in o["data"]:
            t = o["data"]["text/plain"]
            parts.append(t if isinstance(t, str) else "".join(t))
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# BokehJS probes (BokehJS 3.x: window.Bokeh.documents is every Document ever created on the
# page, oldest first; doc.all_models is a Set; a ColumnDataSource's `streaming` Signal0 fires on
# every .stream(), rollover or not; get_length() is the row count).

_CDS_JS = """
const cdsList = (name) => {
  const B = window.Bokeh, out = [];
  if (!B || !B.documents) return out;
  const docs = [...B.documents];
  docs.forEach((doc, d) => {
    for (const m of (doc.all_models ?? doc._all_models.values()))  // BokehJS < 3.4: a Map
      if (m.type === 'ColumnDataSource' && (name == null || m.name === name)) out.push([d, m]);
  });
  return out;
};
"""

_SOURCES_JS = (
    "() => {"
    + _CDS_JS
    + """
  return cdsList(null).map(([d, m]) =>
    ({doc: d, id: m.id, name: m.name, length: m.get_length() ?? 0, columns: m.columns()}));
}"""
)

_DATA_JS = (
    "([name, columns, tail]) => {"
    + _CDS_JS
    + """
  const found = cdsList(name);
  if (!found.length) return null;
  const m = found[found.length - 1][1], out = {};
  for (const c of (columns ?? m.columns())) {
    const col = Array.from(m.data[c] ?? m.data.get?.(c) ?? []);
    out[c] = tail == null ? col : col.slice(-tail);
  }
  return out;
}"""
)

_HOOK_JS = (
    "(name) => {"
    + _CDS_JS
    + """
  const w = window;
  w.__streamlab_updates = w.__streamlab_updates || [];
  w.__streamlab_hooked = w.__streamlab_hooked || new WeakSet();
  const found = cdsList(name);
  for (const [, m] of found) {
    if (w.__streamlab_hooked.has(m)) continue;
    w.__streamlab_hooked.add(m);
    m.streaming.connect(() => w.__streamlab_updates.push(performance.now()));
  }
  return found.length;
}"""
)


def bokeh_sources(page) -> list[dict]:
    """Every ColumnDataSource in ``window.Bokeh.documents``: dicts with ``doc`` (index of its
    document, newest highest), ``id``, ``name``, ``length`` (rows), ``columns``."""
    return page.evaluate(_SOURCES_JS)


def bokeh_source(page, name: str) -> dict | None:
    """The newest ColumnDataSource called ``name`` as in ``bokeh_sources``; None if none."""
    found = [s for s in bokeh_sources(page) if s["name"] == name]
    return found[-1] if found else None


def bokeh_data(
    page, name: str, columns: list[str] | None = None, *, tail: int | None = None
) -> dict[str, list] | None:
    """Columns of the newest ColumnDataSource called ``name`` (last ``tail`` rows); None if
    there is none."""
    return page.evaluate(_DATA_JS, [name, columns, tail])


def install_update_counter(page, name: str | None = None) -> int:
    """Record ``performance.now()`` on each ``streaming`` signal of every ColumnDataSource
    (or those called ``name``) now on the page. Idempotent; returns how many sources are hooked
    and fails if none."""
    n = page.evaluate(_HOOK_JS, name)
    if not n:
        fail(f"no ColumnDataSource {'named ' + repr(name) if name else ''} on the page to hook")
    return n


def update_times(page) -> list[float]:
    """The page-clock timestamps (ms) recorded by ``install_update_counter``, oldest first."""
    return page.evaluate("() => [...(window.__streamlab_updates || [])]")


def page_now(page) -> float:
    """The page's ``performance.now()`` (ms), the clock of ``update_times``."""
    return page.evaluate("() => performance.now()")


# Run code in the open notebook's kernel from the page (the kernel's loop also runs the stream:
# the request is served between two batches). Resolves to what the code printed.
_EXEC_JS = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const f = k.requestExecute({code, silent: false, store_history: false});
  let out = '';
  f.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') out += msg.content.text;
    else if (t === 'error') out += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
  };
  await f.done;
  return out;
}"""


def kernel_exec(page, code: str) -> str:
    """Run ``code`` in the open notebook's kernel (as a request from the page, not a cell);
    what it printed. An exception in the kernel fails the caller with its name and message."""
    out = page.evaluate(_EXEC_JS, code)
    if out.startswith("ERROR"):
        fail(f"the kernel raised running {code!r}: {out}")
    return out


def js_heap_bytes(page) -> int:
    """Used JS heap of the page after a forced garbage collection (CDP Performance metrics)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.enable")
        cdp.send("HeapProfiler.collectGarbage")
        cdp.send("Performance.enable")
        metrics = cdp.send("Performance.getMetrics")["metrics"]
    finally:
        cdp.detach()
    return int(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))


# --------------------------------------------------------------------------------------------
# ipywidgets 8


def _exact(text: str) -> str:
    return json.dumps(text)  # a quoted string for :text-is() / :has-text()


def button(page, description: str):
    """Locator of the ipywidgets Button whose visible text is exactly ``description``."""
    return page.locator(f"button.jupyter-button:text-is({_exact(description)})")


def click_button(page, description: str, *, timeout: float = 15) -> None:
    """Click the (single) ipywidgets Button showing ``description``."""
    b = button(page, description)
    try:
        b.click(timeout=timeout * 1000)
    except Exception as e:
        fail(f"could not click widget button {description!r}: {e}")


def slider(page, description: str):
    """Locator of the ipywidgets slider (Int/Float/FloatLog) labelled ``description``."""
    return page.locator(f".widget-slider:has(> .widget-label:text-is({_exact(description)}))")


def set_slider(page, description: str, value: float, *, timeout: float = 15) -> str:
    """Type ``value`` into the slider's editable readout and press Enter (what a user does);
    wait until the readout shows the value back, i.e. the widget model accepted it. Returns the
    readout text. Reaching the kernel is the caller's to check (e.g. via the data it streams)."""
    readout = slider(page, description).locator(".widget-readout")
    try:
        readout.click(timeout=timeout * 1000)
        readout.press("Control+a")
        readout.press_sequentially(str(value))
        readout.press("Enter")
    except Exception as e:
        fail(f"could not type into slider {description!r}: {e}")

    def shown():
        text = readout.inner_text().strip()
        try:
            return text if abs(float(text) - value) <= 1e-9 * max(1.0, abs(value)) else None
        except ValueError:
            return None

    return wait_for(
        shown, timeout=timeout, what=f"slider {description!r} to show {value}", page=page
    )


def widget_text(page, css: str) -> str:
    """Visible text of the single element matching ``css`` (e.g. an HTML widget's class)."""
    return page.locator(css).inner_text().strip()


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells for the python3 kernel, written with nbformat."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, path)


@dataclass
class Live:
    """A notebook that has run in a page: its server, browser session, page and outputs."""

    flavor: str
    server: JupyterServer
    session: BrowserSession
    page: object
    outputs: list


@contextlib.contextmanager
def live_notebook(root: Path, name: str, cells: list[str], flavor: str) -> Iterator[Live]:
    """Write ``cells`` as ``root/name``, start a server of ``flavor`` on ``root``, open the
    notebook in a fresh page and run all its cells; yield the :class:`Live` result."""
    write_notebook(root / name, cells)
    with JupyterServer(root, flavor) as server, browser() as session:
        page = session.new_page()
        outputs = run_all_cells(page, flavor, url=server.url(name))
        yield Live(flavor, server, session, page, outputs)


def wait_for_status(page, state: str, *, timeout: float = 20) -> float:
    """Wait until the first streamlab dashboard's status line starts with ``state`` (such as
    ``"paused"``); return the page time (``performance.now()``) when it was seen."""
    return page_wait(
        page,
        "(state) => { const el = document.querySelector('.streamlab-status');"
        " return el && el.textContent.startsWith(state) && performance.now(); }",
        state,
        timeout=timeout,
        what=f"the status line to say {state}",
    )
