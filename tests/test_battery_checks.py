"""Each check of the conformance battery fails on a step broken in the way it guards against
(a battery that cannot fail proves nothing), and passes on the same step done right."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import pytest
from streamz import Stream

from streamlab.errors import ConfigError
from streamlab.testing import Case, acheck_step, run_check

DATA = pd.DataFrame(
    {
        "t": pd.date_range("2026-01-01", periods=40, freq="7min", tz="UTC").as_unit("ns"),
        "x": np.arange(40.0),
    }
)
DATA.attrs["time_column"] = "t"
KEPT: list = []  # what a leaking step holds on to


class _Counter(Stream):
    """A row counter written three ways wrong (and once right), selected by ``flaw``."""

    def __init__(self, upstream, flaw: str, every=1):
        super().__init__(upstream)
        if flaw != "numpy" and (isinstance(every, bool) or not isinstance(every, numbers.Integral)):
            raise ConfigError(f"every must be an integer, not {every!r}; for example every=1")
        if flaw == "numpy" and (isinstance(every, bool) or type(every) is not int):
            raise ConfigError(f"every must be an integer, not {every!r}")
        self.flaw, self.n = flaw, 0
        if flaw == "leak":
            KEPT.append(self)

    def update(self, x, who=None, metadata=None):
        out = x.assign(seen=np.arange(self.n, self.n + len(x)))
        self.n += len(x)
        if self.flaw == "attrs":
            out.attrs = {}
        if self.flaw == "dtypes":
            out = out[["t", "x", "seen"]]
        return self._emit(out)

    def end_of_input(self):
        return self._emit(DATA.iloc[:0].assign(seen=[])) if self.flaw == "eoi" else []

    def reset(self):
        if self.flaw != "no_reset":
            self.n = 0


def case(flaw: str) -> Case:
    return Case(
        flaw,
        lambda s, every=1: _Counter(s, flaw, every),
        DATA,
        time_column="t",
        reference=lambda d: d.assign(seen=np.arange(len(d))),
        rows_kept=True,
        params={"every": 1},
    )


@pytest.mark.parametrize(
    ("check", "flaw", "says"),
    [
        ("batch_cuts", "cuts", "seen"),
        ("reference", "cuts", "seen"),
        ("dtypes", "dtypes", "column dropped"),
        ("attrs", "attrs", "attrs lost or changed"),
        ("end_of_input_once", "eoi", "emitted 1 more batches"),
        ("restart", "no_reset", "second start"),
        ("released", "leak", "still alive: .*'step'"),
        ("numbers", "numpy", r"every=int64\(1\)\] raised ConfigError"),
    ],
)
async def test_each_check_catches_its_defect(check, flaw, says):
    broken = case(flaw)
    if flaw == "cuts":  # a count that restarts at every batch depends on the cuts
        broken = Case(
            "cuts",
            lambda s: s.map(lambda b: b.assign(seen=np.arange(len(b)))),
            DATA,
            reference=lambda d: d.assign(seen=np.arange(len(d))),
            rows_kept=True,
        )
    with pytest.raises(AssertionError, match=f"{check} failed: .*{says}"):
        await run_check(broken, check)
    KEPT.clear()


async def test_the_same_step_done_right_passes_every_check():
    checks = await acheck_step(
        lambda s, every=1: _Counter(s, "none", every),
        DATA,
        time_column="t",
        reference=lambda d: d.assign(seen=np.arange(len(d))),
        rows_kept=True,
        params={"every": 1},
    )
    assert checks == [
        "batch_cuts",
        "reference",
        "epochs",
        "dtypes",
        "attrs",
        "end_of_input_once",
        "restart",
        "released",
        "numbers",
    ]
