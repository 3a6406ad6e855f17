"""One registry of every public step and source, with the conformance cases that check it.

A step is public when streamlab puts it on ``streamz.Stream`` (``stream.window``,
``stream.to_sqlite``...); a source when ``streamlab`` exports it (``streamlab.replay``...).
``tests/test_conformance.py`` runs every check of the battery on every case here, and fails
when a public step or source has no case: no new step can skip the battery.

Examples
--------
>>> sorted(public_sources())
['from_tcp', 'from_udp', 'generate', 'listen_tcp', 'replay', 'serve']
>>> "window" in public_steps() and "window" in step_cases()
True
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from ..core.registry import load_all
from .battery import Case

__all__ = ["public_sources", "public_steps", "step_cases"]


def public_steps() -> set[str]:
    """The steps in streamlab's registry (:mod:`streamlab.core.registry`), lazy ones loaded."""
    importlib.import_module("streamlab")
    return set(load_all())


def public_sources() -> set[str]:
    """The source factories ``streamlab`` exports."""
    streamlab = importlib.import_module("streamlab")
    return {
        name
        for name in streamlab.__all__
        if (getattr(getattr(streamlab, name), "__module__", None) or "").startswith(
            "streamlab.sources"
        )
    }


_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("streamlab.testing.cases_ops", "OPS_CASES"),
    ("streamlab.testing.cases_steps", "STEP_CASES"),
)


def step_cases(context=None) -> dict[str, list[Case]]:
    """Every registered step's cases, by step name. ``context`` gives cases what they need
    from the test run (a temporary folder ``context.tmp``, a dask client ``context.client``)."""
    cases: dict[str, list[Case]] = {}
    for module, attr in _PROVIDERS:
        try:
            provider: Callable = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError:
            continue
        params = inspect.signature(provider).parameters
        for name, found in (provider(context) if params else provider()).items():
            cases.setdefault(name, []).extend(found)
    return cases
