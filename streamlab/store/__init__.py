"""Storage: SQLite (default) and Parquet sinks, queries, recordings.

Importing this package registers ``stream.to_sqlite``, ``stream.to_parquet`` and
``stream.record`` on every streamz ``Stream``.

Examples
--------
A query the database refuses raises :class:`StoreError` (an ``OSError``) saying why:

>>> import tempfile, pathlib, pandas as pd
>>> from streamz import Stream
>>> path = pathlib.Path(tempfile.mkdtemp()) / "e.db"
>>> src = Stream(); sink = src.to_sqlite(path, "t")
>>> src.emit(pd.DataFrame({"v": [1]}))
>>> try:
...     Store(path).query("SELECT * FROM nope")
... except StoreError as exc:
...     print(type(exc).__name__, "no such table: nope" in str(exc), isinstance(exc, OSError))
StoreError True True
"""

from .parquet import to_parquet as to_parquet
from .parquet_read import read_parquet_frames as read_parquet_frames
from .recording import record as record
from .sqlite import Store as Store
from .sqlite import StoreError as StoreError
from .sqlite import ns as ns
from .sqlite import read_sqlite_frames as read_sqlite_frames
from .sqlite import to_sqlite as to_sqlite

__all__ = [
    "Store",
    "StoreError",
    "ns",
    "read_parquet_frames",
    "read_sqlite_frames",
    "record",
    "to_parquet",
    "to_sqlite",
]
