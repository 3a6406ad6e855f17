"""Every public name has an example that runs as a doctest, and the docs list every step.

Public: what ``streamlab`` and its subpackages export (``__all__`` of each package's
``__init__``), the modules of ``streamlab.core`` a new step or source is written
against (:data:`CONTRACT`), ``streamlab.errors``, and every step in the registry. The doctests themselves run
with the rest of the suite (``--doctest-modules``); this test makes sure each public name
has one.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil

import pytest

import streamlab
from streamlab.core.registry import load_all, steps_table

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: the core modules a new step or source is written against
CONTRACT = (
    "step",
    "registry",
    "graph",
    "params",
    "stats",
    "state",
    "batch",
    "checks",
    "clock",
    "source",
)

PACKAGES = [
    "streamlab",
    "streamlab.errors",
    *(f"streamlab.{m.name}" for m in pkgutil.iter_modules(streamlab.__path__) if m.ispkg),
    *(f"streamlab.core.{m}" for m in CONTRACT),
]
SKIP_PACKAGES = {"streamlab.cli"}  # the command line: documented by --help, tested in test_cli


def public_names() -> list[tuple[str, str, object]]:
    found = []
    for name in PACKAGES:
        if name in SKIP_PACKAGES:
            continue
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr)
            if inspect.ismodule(obj) or not callable(obj):
                continue  # constants are documented where they are defined
            found.append((name, attr, obj))
    for step, info in load_all().items():
        found.append(("stream", step, info.obj))
    return found


def has_example(obj: object) -> bool:
    doc = inspect.getdoc(obj) or ""
    return ">>>" in doc


def test_every_public_name_has_an_example() -> None:
    missing = sorted(
        {f"{where}.{attr}" for where, attr, obj in public_names() if not has_example(obj)}
    )
    assert missing == [], f"{len(missing)} public names without a doctest example"


def test_the_readme_lists_every_step_as_the_registry_does() -> None:
    readme = (ROOT / "README.md").read_text()
    table = steps_table()
    assert table in readme, (
        "README's table of steps differs from the registry; paste the output of "
        "`python -c 'import streamlab; from streamlab.core.registry import steps_table; "
        "print(steps_table())'`"
    )


@pytest.mark.parametrize("step", sorted(load_all()))
def test_every_step_names_its_kind(step: str) -> None:
    assert load_all()[step].kind in ("step", "sink")
