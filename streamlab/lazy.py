"""Steps whose packages are slow to import (scikit-learn) are registered on ``Stream`` as small
stand-ins; the first call imports the real package, which registers the real step in their
place. ``import streamlab`` stays fast (and starts nothing); nothing else changes for users.

Examples
--------
>>> from streamz import Stream
>>> register_lazy_steps()
>>> callable(Stream.learn)
True
"""

from __future__ import annotations

import importlib

from streamz import Stream

__all__ = ["LAZY_STEPS", "register_lazy_steps"]

#: step name -> the module whose import registers it
LAZY_STEPS = {
    name: "streamlab.learn"
    for name in (
        "learn",
        "learn_many",
        "refit",
        "detect_drift",
        "robust_zscore",
        "ewma_chart",
        "isolation_forest",
    )
}
LAZY_STEPS["dashboard"] = "streamlab.viz"  # bokeh and ipywidgets


def _stand_in(name: str, module: str):
    def step(self, *args, **kwargs):
        importlib.import_module(module)  # registers the real step on Stream, replacing this
        return getattr(Stream, name)(self, *args, **kwargs)

    step.__name__ = name
    step.__doc__ = f"``{module}``'s ``{name}`` step (imported on first use)."
    return step


def register_lazy_steps() -> None:
    """Put a stand-in on ``Stream`` for every lazy step not registered for real yet."""
    for name, module in LAZY_STEPS.items():
        if not hasattr(Stream, name):
            setattr(Stream, name, _stand_in(name, module))
