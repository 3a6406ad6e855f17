"""The one place streamlab uses pandas' private API: two column-level constructors.

A learner splits every batch into feature arrays and adds its prediction columns to every
batch; pandas' public ways to do that build a Series per column (about 9 µs a column in
pandas 3). ``DataFrame._get_column_array(i)`` and ``DataFrame._from_arrays(arrays, columns,
index)`` do the same at the array level.

Verified on the pandas versions in :data:`VERIFIED_ON` (the newest and the oldest CI
environments run the suite on them). On any other pandas version, or with the environment
variable ``STREAMLAB_FASTPATH=0`` (see :mod:`~streamlab.core.switches`; read at import), the public path runs: the same frames,
slower. :data:`PRIVATE_OK` says which path is in use.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
>>> [a.tolist() for a in column_arrays(df, [1])]
[[0.5, 1.5]]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from .switches import fastpath_disabled

__all__ = [
    "PANDAS_ATTRS",
    "PRIVATE_OK",
    "VERIFIED_ON",
    "column_arrays",
    "private_ok",
    "with_columns",
]

#: The Parquet schema metadata key under which ``DataFrame.to_parquet`` stores ``df.attrs``
#: (JSON) and ``pandas.read_parquet`` restores them, pandas 2.1 and on (pandas/io/parquet.py;
#: not documented). pyarrow keeps them too, in its ``pandas`` metadata's ``attributes``, but
#: only from pyarrow 21 on; a file with both keys gives pandas its attrs with every pyarrow.
PANDAS_ATTRS = b"PANDAS_ATTRS"

#: pandas releases (major.minor) whose private constructors were checked against the public path
VERIFIED_ON = ("2.1", "2.2", "2.3", "3.0", "3.1")


def private_ok(version: str = pd.__version__, env: str | None = None) -> bool:
    """Whether the private path may run: a verified pandas and ``STREAMLAB_FASTPATH`` not 0.

    Examples
    --------
    >>> private_ok("3.1.1", env="1"), private_ok("3.1.1", env="0"), private_ok("9.0.0", env="")
    (True, False, False)
    """
    off = fastpath_disabled(env) is not None
    return not off and ".".join(version.split(".")[:2]) in VERIFIED_ON


#: the path in use in this process (decided at import)
PRIVATE_OK = private_ok()


def column_arrays(df: pd.DataFrame, positions: Iterable[int]) -> list[Any]:
    """The columns of ``df`` at ``positions`` as their arrays (a numpy array, or pandas'
    extension array for strings, nullable numbers...), without making a Series for each:
    ``df[name]`` costs about 9 µs a column in pandas 3, which a learner that splits a batch
    into features pays on every batch. Uses pandas' own column getter where it has one.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"]})
    >>> [a.tolist() for a in column_arrays(df, [1, 0])]
    [[0.5, 1.5], [1, 2]]
    """
    get = getattr(df, "_get_column_array", None) if PRIVATE_OK else None
    if get is not None:
        return [get(i) for i in positions]
    return [_public_array(df.iloc[:, i]) for i in positions]


def _public_array(column: pd.Series) -> Any:
    """What ``_get_column_array`` gives, by public means: numpy data as a numpy array."""
    arr = column.array
    return arr.to_numpy() if isinstance(arr, pd.arrays.NumpyExtensionArray) else arr


def with_columns(df: pd.DataFrame, names: pd.Index, arrays: list[Any]) -> pd.DataFrame:
    """``df`` with new columns ``names`` (none of them in ``df``) holding ``arrays``, and
    ``df``'s attrs. The same frame as ``pd.concat([df, pd.DataFrame(dict(zip(names,
    arrays)), index=df.index)], axis=1)`` in about half the time (pandas' own array-level
    constructor where it has one): a learner adds its prediction columns to every batch.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> out = with_columns(pd.DataFrame({"x": [1, 2]}), pd.Index(["p"]), [np.array([0.5, 1.5])])
    >>> out.columns.tolist(), out["p"].tolist()
    (['x', 'p'], [0.5, 1.5])
    """
    build = getattr(pd.DataFrame, "_from_arrays", None) if PRIVATE_OK else None
    if build is not None:
        own = column_arrays(df, range(df.shape[1]))
        out = build(own + list(arrays), columns=df.columns.append(names), index=df.index)
    else:
        extra = pd.DataFrame(dict(zip(names, arrays, strict=True)), index=df.index, copy=False)
        out = pd.concat([df, extra], axis=1)
    out.attrs = dict(df.attrs)
    return out
