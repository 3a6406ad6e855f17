"""The conformance battery for stream steps: one call runs every check on a step.

A :class:`Case` says how to build the step below an upstream node, what data to feed it and,
where one exists, the plain-pandas answer on the whole data. Each check is a small function
about one property, named, as in scikit-learn's ``estimator_checks`` and River's ``checks``:

- ``batch_cuts``: the output is the same whatever the batch cuts (one batch; one row per batch;
  random cuts; zero-row batches between rows);
- ``reference``: the output equals the plain-pandas reference on the whole data;
- ``epochs``: event times anywhere in ``datetime64[ns]``'s range, spans longer than 2**53 ns,
  tz-aware and naive, a DST change, duplicate timestamps, other units: cut-independent, and
  equal to the reference on the same times;
- ``dtypes``: columns of every dtype (with missing values) come through unchanged (steps that
  keep their input rows);
- ``attrs``: ``df.attrs`` (peer, origin, time column) carried by steps that keep rows;
- ``end_of_input_once``: the end of input flushes once, a second flush emits nothing;
- ``restart``: a source started again gives the same output (the steps below start afresh);
- ``released``: a stopped and dropped pipeline is garbage-collected with what it held;
- ``numbers``: numeric parameters take numpy scalars (same output) and refuse ``bool`` with an
  error naming the parameter and the value.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
>>> check_step(lambda s: s.map(lambda b: b.assign(y=b["x"] * 2)), df,
...            reference=lambda d: d.assign(y=d["x"] * 2), rows_kept=True)
['batch_cuts', 'reference', 'dtypes', 'attrs', 'end_of_input_once', 'restart', 'released']
>>> check_step(lambda s: s.map(lambda b: b.assign(y=len(b))), df)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: check_step(case): batch_cuts failed: [rows] ...(column name="y") values are different...
"""

from __future__ import annotations

import asyncio
import numbers
import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..core import streamz_compat
from ..core.runner import arun
from ..errors import ConfigError, StateError
from .frames import canonical, cut, dtype_zoo, epoch_variants, explain_difference
from .harness import Case, FrameSource, build, collected, output, run_case

__all__ = ["CHECKS", "Case", "FrameSource", "acheck_step", "check_step", "checks_for", "run_case"]


def _expected(case: Case, data: pd.DataFrame) -> pd.DataFrame | None:
    if case.reference is None:
        return None
    ref = canonical([case.reference(data)], sort_by=list(case.sort_by) if case.sort_by else None)
    return ref


def _compare(case: Case, got, want, *, columns_of_want: bool = False) -> str | None:
    if columns_of_want and got is not None and want is not None:
        missing = [c for c in want.columns if c not in got.columns]
        if missing:
            return f"columns {missing} missing from the output (it has {list(got.columns)})"
        got = got[list(want.columns)]
    return explain_difference(got, want, rtol=case.rtol)


class _Failures(list):
    def add(self, variant: str, problem: str | None) -> None:
        if problem is not None:
            self.append(f"[{variant}] {problem}")


def _applies(case: Case, check: str, variant: str | None = None) -> bool:
    return check not in case.not_applicable and (
        variant is None or f"{check}:{variant}" not in case.not_applicable
    )


async def _attempt(case: Case, frames, **params):
    try:
        return await run_case(case, frames, **params), None
    except Exception as exc:  # the step raised: a failure of this variant, named
        return None, f"raised {type(exc).__name__}: {exc}"


# -- the checks -------------------------------------------------------------------------------
async def check_batch_cuts(case: Case) -> list[str]:
    failures = _Failures()
    base, err = await _attempt(case, cut(case.data, "one"))
    failures.add("one", err)
    for how, seed in (("rows", 0), ("random", 1), ("random", 2), ("empty", 0)):
        if err is None and _applies(case, "batch_cuts", how):
            got, problem = await _attempt(case, cut(case.data, how, seed=seed))
            failures.add(
                how if how != "random" else f"random seed={seed}",
                problem or _compare(case, got, base),
            )
    return failures


async def check_reference(case: Case) -> list[str]:
    failures = _Failures()
    got, err = await _attempt(case, cut(case.data, "random", seed=3))
    failures.add(
        "random cuts", err or _compare(case, got, _expected(case, case.data), columns_of_want=True)
    )
    return failures


async def check_epochs(case: Case) -> list[str]:
    failures = _Failures()
    for variant, data in epoch_variants(case.data, case.time_column):
        if not _applies(case, "epochs", variant):
            continue
        one, err = await _attempt(case, cut(data, "one"))
        if err is not None:
            failures.add(variant, err)
            continue
        some, err = await _attempt(case, cut(data, "random", seed=4))
        failures.add(f"{variant}, random cuts", err or _compare(case, some, one))
        if case.reference is not None:
            failures.add(
                f"{variant} vs reference",
                _compare(case, one, _expected(case, data), columns_of_want=True),
            )
    return failures


async def check_dtypes(case: Case) -> list[str]:
    """Every dtype at once; if that fails to run, each dtype alone, to name the culprits."""
    failures = _Failures()
    zoo = dtype_zoo(len(case.data), seed=5)
    skip = [c for c in zoo.columns if not _applies(case, "dtypes", c)]
    zoo = zoo.drop(columns=skip)

    async def through(columns) -> tuple:
        data = pd.concat([case.data.reset_index(drop=True), zoo[columns]], axis=1)
        data.attrs = dict(case.data.attrs)
        got, err = await _attempt(case, cut(data, "random", seed=6))
        return data, got, err

    data, got, err = await through(list(zoo.columns))
    if err is not None:
        for col in zoo.columns:
            data, got, err = await through([col])
            failures.add(col, err or _column_kept(case, got, data, col))
        return failures
    for col in zoo.columns:
        failures.add(col, _column_kept(case, got, data, col))
    return failures


def _column_kept(case: Case, got, data, col) -> str | None:
    if got is None or col not in got.columns:
        return "column dropped"
    want = canonical([data], sort_by=list(case.sort_by) if case.sort_by else None)
    assert want is not None  # canonical of one frame is a frame
    return explain_difference(got[[col]], want[[col]])


async def check_attrs(case: Case) -> list[str]:
    failures = _Failures()
    attrs = {**case.data.attrs, "peer": "127.0.0.1:50000", "origin": "check_step"}
    data = case.data.copy()
    data.attrs = attrs
    source, _, seen = build(case, cut(data, "random", seed=7))
    await arun(source)
    for i, batch in enumerate(seen):
        lost = {k: v for k, v in attrs.items() if batch.attrs.get(k) != v}
        failures.add(f"batch {i}", f"attrs lost or changed: {lost}" if lost else None)
    return failures


async def check_end_of_input_once(case: Case) -> list[str]:
    failures = _Failures()
    source, _, seen = build(case, cut(case.data, "random", seed=8))
    await arun(source)  # ends with one end_of_input through the pipeline
    before = len(seen)
    for n in _pipeline(source):
        hook = getattr(n, "end_of_input", None)
        if callable(hook):
            await streamz_compat.settle(hook() or [])
    failures.add(
        "second end_of_input",
        f"emitted {len(seen) - before} more batches" if len(seen) != before else None,
    )
    return failures


async def check_restart(case: Case) -> list[str]:
    failures = _Failures()
    source, node, seen = build(case, cut(case.data, "random", seed=9))

    async def once():
        seen.clear()
        await arun(source)  # the same source each time: it resets the steps below it
        return await output(case, node, seen)

    first = await once()
    try:
        second = await once()
    except Exception as exc:
        failures.add("second start", f"raised {type(exc).__name__}: {exc}")
    else:
        failures.add("second start", _compare(case, second, first))
    return failures


async def check_released(case: Case) -> list[str]:
    failures = _Failures()
    source, node, seen = build(case, cut(case.data, "random", seed=10))
    await arun(source)
    refs = {"source": weakref.ref(source), "step": weakref.ref(node)}
    if seen and _weakrefable(seen[-1]):
        refs["last output batch"] = weakref.ref(seen[-1])
    seen.clear()
    del source, node

    def alive() -> list[str]:
        return [name for name, ref in refs.items() if ref() is not None]

    await collected(lambda: not alive())
    failures.add("after stop and del", f"still alive: {alive()}" if alive() else None)
    return failures


async def check_numbers(case: Case) -> list[str]:
    failures = _Failures()
    base, err = await _attempt(case, cut(case.data, "one"))
    failures.add("python numbers", err)
    for name, value in case.params.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        kinds = (np.int64, np.int32) if isinstance(value, numbers.Integral) else (np.float64,)
        for kind in kinds:
            given = {**case.params, name: kind(value)}  # type: ignore[arg-type]  # a checked Real
            got, problem = await _attempt(case, cut(case.data, "one"), **given)
            failures.add(f"{name}={kind.__name__}({value})", problem or _compare(case, got, base))
        try:
            build(case, [], **{**case.params, name: True})
        except ConfigError as exc:
            text = str(exc)
            if name not in text or "True" not in text:
                failures.add(
                    f"{name}=True", f"the error does not name the parameter and the value: {text!r}"
                )
        except Exception as exc:
            failures.add(f"{name}=True", f"raised {type(exc).__name__}, not ConfigError: {exc}")
        else:
            failures.add(f"{name}=True", "accepted a bool where a number is meant")
    return failures


#: name -> check; which apply to a case is decided by :func:`checks_for`
CHECKS: dict[str, Callable] = {
    "batch_cuts": check_batch_cuts,
    "reference": check_reference,
    "epochs": check_epochs,
    "dtypes": check_dtypes,
    "attrs": check_attrs,
    "end_of_input_once": check_end_of_input_once,
    "restart": check_restart,
    "released": check_released,
    "numbers": check_numbers,
}


def checks_for(case: Case) -> list[str]:
    """The names of the checks that apply to ``case`` (in :data:`CHECKS` order).

    >>> import pandas as pd
    >>> case = Case("map", lambda s: s.map(lambda b: b), pd.DataFrame({"x": [1]}), rows_kept=True)
    >>> checks_for(case)
    ['batch_cuts', 'dtypes', 'attrs', 'end_of_input_once', 'restart', 'released']
    """
    wanted = {
        "reference": case.reference is not None,
        "epochs": case.time_column is not None,
        "dtypes": case.rows_kept,
        "attrs": case.rows_kept and case.collect is None,
        "numbers": bool(case.params),
    }
    return [c for c in CHECKS if wanted.get(c, True) and c not in case.not_applicable]


async def run_check(case: Case, check: str) -> None:
    """Run one check on ``case``; raise ``AssertionError`` naming the case, the check, each
    failing variant and the difference.

    >>> import asyncio, pandas as pd
    >>> broken = Case("drops the last row", lambda s: s.map(lambda b: b.iloc[:-1]),
    ...               pd.DataFrame({"x": [1, 2, 3]}), reference=lambda d: d)
    >>> asyncio.run(run_check(broken, "reference"))
    Traceback (most recent call last):
    ...
    AssertionError: check_step(drops the last row): reference failed: ...
    """
    failures = await CHECKS[check](case)
    if failures:
        raise AssertionError(f"check_step({case.name}): {check} failed: " + "; ".join(failures))


async def acheck_step(make, data: pd.DataFrame, **options) -> list[str]:
    """:func:`check_step` from async code (a notebook cell, a coroutine).

    >>> import asyncio, pandas as pd
    >>> asyncio.run(acheck_step(lambda s: s.map(lambda b: b), pd.DataFrame({"x": [1]})))
    ['batch_cuts', 'end_of_input_once', 'restart', 'released']
    """
    case = Case(name=options.pop("name", "case"), make=make, data=data, **options)
    ran = []
    for check in checks_for(case):
        await run_check(case, check)
        ran.append(check)
    return ran


def check_step(make, data: pd.DataFrame, **options) -> list[str]:
    """Run the battery on a step; return the names of the checks run, or raise
    ``AssertionError`` naming the check that failed, its variants and the differences.

    ``make(upstream)`` builds the step below ``upstream`` and returns its node; ``data`` is the
    input. Options are :class:`Case`'s fields: ``time_column``, ``reference`` (the plain-pandas
    answer on the whole data), ``sort_by``, ``rows_kept``, ``params``, ``collect``, ``final``,
    ``rtol``, ``not_applicable``, ``name``.

    >>> import pandas as pd
    >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    >>> check_step(lambda s: s.map(lambda b: b.assign(y=b["x"] * 2)), data,
    ...            reference=lambda d: d.assign(y=d["x"] * 2), rows_kept=True)
    ['batch_cuts', 'reference', 'dtypes', 'attrs', 'end_of_input_once', 'restart', 'released']
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        return asyncio.run(acheck_step(make, data, **options))
    raise StateError(
        "check_step() blocks, and an event loop is already running here (Jupyter or async "
        "code): use `await streamlab.testing.acheck_step(...)`"
    )


def _pipeline(source) -> list:
    from ..core.graph import pipeline_nodes

    return pipeline_nodes(source)


def _weakrefable(obj) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True
