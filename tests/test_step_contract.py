"""The step contract: one registry, one graph, side outputs through one adapter, structured errors."""

from __future__ import annotations

import pathlib
import pickle
import re
import subprocess
import sys

import pandas as pd
import pytest
from streamz import Stream

import streamlab
from streamlab.core import graph
from streamlab.core.registry import REGISTRY, declare_lazy, load_all, register_step
from streamlab.core.step import Step
from streamlab.errors import (
    CodecError,
    ConfigError,
    RegistrationError,
    StoreError,
    StreamlabError,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_registered_step_is_a_step_on_stream() -> None:
    steps = load_all()
    assert len(steps) >= 22
    for name, info in steps.items():
        assert not info.lazy, name
        assert callable(getattr(Stream, name)), name
        obj = info.obj
        if isinstance(obj, type):  # a node class (functions such as record build nodes)
            assert issubclass(obj, Step), f"{name} is not a Step"


def test_registering_a_taken_name_is_refused_and_nothing_changes() -> None:
    before = Stream.map
    with pytest.raises(RegistrationError) as info:

        @register_step
        class map(Step, Stream):
            pass

    assert Stream.map is before
    assert "map" not in REGISTRY
    err = info.value
    assert (err.param, err.value) == ("name", "map")
    assert "streamz.core" in str(err)


def test_another_plugins_name_is_refused_too() -> None:
    def plugin_step(self):  # what another package put on Stream
        return self

    plugin_step.__module__ = "someone_elses_plugin"
    Stream.plugin_step = plugin_step
    try:
        with pytest.raises(RegistrationError, match="someone_elses_plugin"):
            register_step(type("plugin_step", (Step, Stream), {}))
        with pytest.raises(RegistrationError):
            declare_lazy("plugin_step", "streamlab.learn")
    finally:
        del Stream.plugin_step


def test_a_new_step_is_one_class_and_its_registration() -> None:
    @register_step
    class contract_probe(Step, Stream):
        """Doubles ``x`` and sends odd rows to ``.errors``."""

        SIDE_OUTPUTS = ("errors",)
        STATE = ("seen",)

        def __init__(self, upstream, **kwargs):
            super().__init__(upstream, **kwargs)
            self.seen = 0
            self.make_side_outputs()

        def update(self, x, who=None, metadata=None):
            self.seen += len(x)
            odd = x["x"] % 2 == 1
            return self.to_side("errors", x[odd]) + self.forward(x[~odd] * 2)

    try:
        src = streamlab.generate("sine", rows=0)  # a real source, for the graph walks
        src2 = Stream()
        node = src2.contract_probe()
        out, bad = node.sink_to_list(), node.errors.sink_to_list()
        src2.emit(pd.DataFrame({"x": [1, 2, 3, 4]}))
        assert [f["x"].tolist() for f in out] == [[4, 8]]
        assert [f["x"].tolist() for f in bad] == [[1, 3]]
        assert node.errors in graph.nodes_below(src2)
        assert graph.side_outputs(node) == [("errors", node.errors)]
        assert REGISTRY["contract_probe"].summary.startswith("Doubles")
        with pytest.raises(ConfigError, match="no side output 'late'"):
            node.to_side("late", pd.DataFrame())
        saved = node.capture_state()
        node.seen = 0
        node.restore_state(saved)
        assert node.seen == 4
        with pytest.raises(ConfigError, match="no state named 'nope'"):
            node.restore_state({"nope": 1})
        assert graph.sources_above(src.map(len)) == [src]
    finally:
        del Stream.contract_probe
        REGISTRY.pop("contract_probe")


def test_private_emit_is_called_in_one_module_only() -> None:
    hits = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "streamlab").rglob("*.py")
        if re.search(r"\._emit\b", p.read_text())
    )
    assert hits == ["streamlab/core/streamz_compat.py"]


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "streamlab").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


@pytest.mark.parametrize(
    "err",
    [
        ConfigError("window must be > 0, not -1", param="window", value=-1, hint="e.g. window=100"),
        StoreError("cannot write", param="path", value="/ro/x.db", hint="pick a writable folder"),
        CodecError("zlib: corrupt input"),
    ],
)
def test_errors_carry_their_facts_and_survive_pickling(err: StreamlabError) -> None:
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert str(again) == str(err)
    assert (again.param, again.value, again.hint) == (err.param, err.value, err.hint)
    assert "\n" not in str(err)


def test_every_error_class_lives_in_errors_py() -> None:
    found = []
    for p in (ROOT / "streamlab").rglob("*.py"):
        # private classes are control flow; an AssertionError subclass is a failed check
        pattern = r"^class ([A-Za-z]\w*)\((?!AssertionError).*(Error|Exception)\b.*\):"
        for m in re.finditer(pattern, p.read_text(), re.M):
            found.append((m.group(1), str(p.relative_to(ROOT))))
    elsewhere = [f for f in found if f[1] != "streamlab/errors.py"]
    assert elsewhere == []


def test_import_streamlab_stays_light() -> None:
    code = (
        "import sys, streamlab; "
        "print(sorted(m for m in ('sklearn', 'bokeh', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
