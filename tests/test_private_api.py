"""Every use of another library's private API has a public path that gives the same answer.

The private paths (core/pandas_compat, core/streamz_compat, learn's scikit-learn module) run
only on verified versions; these tests hold the public path to the private one on every dtype
a batch may carry, so turning the private path off (``STREAMLAB_FASTPATH=0``, or a new
release) changes the speed and nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from streamlab.core import pandas_compat
from streamlab.testing.frames import dtype_zoo


@pytest.fixture(params=[0, 1, 7])
def zoo(request) -> pd.DataFrame:
    return dtype_zoo(request.param, seed=request.param)


def _same_array(a, b) -> None:
    assert type(a) is type(b), (type(a), type(b))
    assert a.dtype == b.dtype
    pd.testing.assert_series_equal(pd.Series(a), pd.Series(b))


def test_column_arrays_public_path_equals_private(zoo, monkeypatch) -> None:
    positions = list(range(zoo.shape[1]))
    assert pandas_compat.PRIVATE_OK  # the suite runs on verified pandas versions
    private = pandas_compat.column_arrays(zoo, positions)
    monkeypatch.setattr(pandas_compat, "PRIVATE_OK", False)
    public = pandas_compat.column_arrays(zoo, positions)
    for col, a, b in zip(zoo.columns, private, public, strict=True):
        try:
            _same_array(a, b)
        except AssertionError as exc:
            raise AssertionError(f"column {col}: {exc}") from None


def test_with_columns_public_path_equals_private(zoo, monkeypatch) -> None:
    zoo.attrs["time_column"] = "z_time_ns"
    names = pd.Index(["p_float", "p_int"])
    arrays = [np.linspace(0, 1, len(zoo)), np.arange(len(zoo))]
    private = pandas_compat.with_columns(zoo, names, arrays)
    monkeypatch.setattr(pandas_compat, "PRIVATE_OK", False)
    public = pandas_compat.with_columns(zoo, names, arrays)
    pd.testing.assert_frame_equal(private, public)
    assert private.attrs == public.attrs == zoo.attrs


def test_environment_switch_turns_private_paths_off() -> None:
    code = "from streamlab.core import pandas_compat as p; print(p.PRIVATE_OK)"
    for env, want in (("0", "False"), ("1", "True")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "STREAMLAB_FASTPATH": env},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == want


def test_unverified_pandas_takes_the_public_path() -> None:
    assert not pandas_compat.private_ok("99.0.0", env="1")
    assert pandas_compat.private_ok(pd.__version__, env="1") == (
        ".".join(pd.__version__.split(".")[:2]) in pandas_compat.VERIFIED_ON
    )
