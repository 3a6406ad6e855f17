"""Which sources are running, so that a notebook cell run again replaces what it started.

Only in an IPython kernel, and only for sources started from a cell: the cell's id (JupyterLab
and Notebook 7 send it with every execution) keys the sources it started. Running the cell again
stops them before the new ones start. Nothing here imports IPython or runs at import.
"""

from __future__ import annotations

import sys
import weakref

__all__ = ["cell_key", "register", "running_sources"]

# cell id -> the sources that cell started (weak: a stopped, forgotten source can be collected)
_BY_CELL: dict[str, weakref.WeakSet] = {}
_ALL: weakref.WeakSet = weakref.WeakSet()


def cell_key() -> str | None:
    """The id of the notebook cell being executed, or ``None`` outside a kernel.

    Examples
    --------
    >>> cell_key() is None  # doctests do not run in a kernel
    True
    """
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return None
    ip = ipython_mod.get_ipython()
    kernel = getattr(ip, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent("shell")
    except TypeError:  # older ipykernel
        parent = kernel.get_parent()
    meta = (parent or {}).get("metadata") or {}
    return meta.get("cellId")


def register(source) -> list:
    """Note that ``source`` is starting; return the earlier sources of the same cell (to stop)."""
    _ALL.add(source)
    key = cell_key()
    if key is None:
        return []
    earlier = [s for s in _BY_CELL.get(key, ()) if s is not source]
    _BY_CELL[key] = weakref.WeakSet([source])
    return earlier


def running_sources() -> list:
    """Every streamlab source that is running now, in this process.

    Examples
    --------
    >>> running_sources()
    []
    """
    return [s for s in _ALL if s.running]
