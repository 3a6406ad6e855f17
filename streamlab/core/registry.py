"""The one registry of streamlab's steps: what ``stream.<name>(...)`` means, where it lives,
and how it is loaded. The dashboard's controls, the conformance battery and the docs read it.

A step is registered with :func:`register_step` (a decorator over streamz's own
``Stream.register_api``); it refuses a name that streamz or another plugin already put on
``Stream``, so ``import streamlab`` can never silently replace someone's method. Steps whose
packages are slow to import (scikit-learn, bokeh) are declared with :func:`declare_lazy`: a
small stand-in sits on ``Stream`` until the first call imports the real module, whose
``register_step`` then takes the stand-in's place. This is the documented lazy hook; a plugin
package does the same from its own ``__init__``.

Examples
--------
>>> import streamlab
>>> info = REGISTRY["window"]
>>> info.module, info.kind
('streamlab.ops.windows', 'step')
>>> from streamz import Stream
>>> @register_step
... class map(Stream):  # streamz has a ``map`` already
...     pass
Traceback (most recent call last):
...
streamlab.errors.RegistrationError: cannot register stream.map from streamlab.core.registry: streamz.Stream already has map (from streamz.core); choose another name, e.g. 'my_map'
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from streamz import Stream

from ..errors import RegistrationError

__all__ = ["REGISTRY", "StepInfo", "declare_lazy", "load_all", "register_step", "steps_table"]

T = TypeVar("T", bound=Callable[..., Any])


@dataclass(frozen=True)
class StepInfo:
    """One registered step: ``stream.<name>``, defined in ``module``; ``kind`` is ``"step"``
    (emits batches) or ``"sink"`` (ends a pipeline: stores, sends, plots); ``lazy`` while only
    its stand-in is on ``Stream``.

    >>> import streamlab
    >>> info = REGISTRY["to_sqlite"]
    >>> info.kind, info.module.startswith("streamlab.store"), info.summary != ""
    ('sink', True, True)
    """

    name: str
    module: str
    kind: str = "step"
    lazy: bool = False
    target: Any = field(default=None, repr=False, compare=False)

    @property
    def obj(self) -> Any:
        """The step's class or function (imports its module if it is still lazy)."""
        if self.target is not None:
            return self.target
        importlib.import_module(self.module)  # registers the real step
        return REGISTRY[self.name].target

    @property
    def summary(self) -> str:
        """The first sentence of the step's docstring."""
        doc = inspect.getdoc(self.obj) or ""
        paragraph = " ".join(doc.split("\n\n", 1)[0].split())
        end = paragraph.find(". ")
        return paragraph if end < 0 else paragraph[: end + 1]


#: every streamlab step by name, lazy ones included
REGISTRY: dict[str, StepInfo] = {}


def _owner(name: str) -> str | None:
    """The module whose object is on ``Stream`` under ``name`` (``None``: nothing is)."""
    if not hasattr(Stream, name):
        return None
    obj = inspect.getattr_static(Stream, name, None)
    for _ in range(3):  # staticmethod / functools.wraps chains
        obj = getattr(obj, "__func__", None) or getattr(obj, "__wrapped__", None) or obj
    return getattr(obj, "__module__", None) or "an unknown module"


def _check_free(name: str, module: str) -> None:
    known = REGISTRY.get(name)
    if known is not None and (known.lazy or known.module == module):
        return  # the lazy stand-in being replaced, or a module imported again (reload)
    owner = _owner(name)
    if owner is not None:
        raise RegistrationError(
            f"cannot register stream.{name} from {module}: streamz.Stream already has "
            f"{name} (from {owner})",
            param="name",
            value=name,
            hint=f"choose another name, e.g. 'my_{name}'",
        )


def register_step(obj: T | None = None, *, name: str | None = None, kind: str = "step") -> Any:
    """Put a step on ``Stream`` as ``stream.<name>`` (default: the object's ``__name__``) and
    in :data:`REGISTRY`. Use as ``@register_step`` or ``@register_step(kind="sink")``.

    >>> @register_step
    ... def double(self):
    ...     'Every batch, twice over.'
    ...     return self.map(lambda df: df * 2)
    >>> from streamz import Stream
    >>> src = Stream(); got = src.double().sink_to_list(); src.emit(21); got
    [42]
    >>> REGISTRY.pop("double").summary; del Stream.double
    'Every batch, twice over.'
    """

    def apply(target: T) -> T:
        step_name = name or target.__name__
        module = target.__module__
        _check_free(step_name, module)
        Stream.register_api(attribute_name=step_name)(target)
        REGISTRY[step_name] = StepInfo(step_name, module, kind, target=target)
        return target

    return apply(obj) if obj is not None else apply


def _stand_in(name: str, module: str) -> Callable[..., Any]:
    def step(self: Stream, *args: Any, **kwargs: Any) -> Any:
        importlib.import_module(module)  # registers the real step on Stream, replacing this
        return getattr(Stream, name)(self, *args, **kwargs)

    step.__name__ = name
    step.__module__ = module
    step.__doc__ = f"``{module}``'s ``{name}`` step (imported on first use)."
    return step


def declare_lazy(name: str, module: str, *, kind: str = "step") -> None:
    """Put a stand-in for ``stream.<name>`` on ``Stream`` that imports ``module`` on first use
    (``module`` registers the real step). Nothing happens if the step is registered already.

    >>> import streamlab  # declares stream.learn and the other scikit-learn steps lazily
    >>> REGISTRY["learn"].module
    'streamlab.learn...'
    """
    known = REGISTRY.get(name)
    if known is not None:
        return
    _check_free(name, module)
    Stream.register_api(attribute_name=name)(_stand_in(name, module))
    REGISTRY[name] = StepInfo(name, module, kind, lazy=True)


def load_all() -> dict[str, StepInfo]:
    """Import every lazy step's module (so each entry is real); return :data:`REGISTRY`.

    >>> import streamlab
    >>> any(info.lazy for info in load_all().values())
    False
    """
    for info in list(REGISTRY.values()):
        if info.lazy:
            importlib.import_module(info.module)
    return REGISTRY


def steps_table() -> str:
    """Every registered step as a Markdown table (the README's list of steps is this table;
    a test keeps the two the same).

    >>> import streamlab
    >>> print(steps_table().splitlines()[0])
    | step | kind | module | what it does |
    """
    rows = ["| step | kind | module | what it does |", "|---|---|---|---|"]
    for name, info in sorted(load_all().items()):
        summary = info.summary.replace("|", "\\|")
        rows.append(f"| `{name}` | {info.kind} | `{info.module}` | {summary} |")
    return "\n".join(rows)
