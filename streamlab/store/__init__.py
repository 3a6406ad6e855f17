"""Storage: SQLite (default) and Parquet sinks, queries, recordings.

Importing this package registers ``stream.to_sqlite`` on every streamz ``Stream``.
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
