"""``stream.record(path)``: keep a stream with each row's arrival time, to replay it later with
the timing it really had (``streamlab.replay(path)`` paces a recording by ``arrival_time``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.batch import ARRIVAL_TIME
from ..core.registry import register_step
from ..errors import ConfigError

__all__ = ["record", "stamp_arrival"]


def stamp_arrival(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the batch with an ``arrival_time`` column first (now, UTC).

    Examples
    --------
    >>> out = stamp_arrival(pd.DataFrame({"arrival_time": [0], "v": [1.5]}))
    >>> list(out.columns), str(out[ARRIVAL_TIME].dtype)
    (['arrival_time', 'v'], 'datetime64[ns, UTC]')
    """
    out = df.copy()
    if ARRIVAL_TIME in out.columns:
        out = out.drop(columns=[ARRIVAL_TIME])
    out.insert(0, ARRIVAL_TIME, pd.Timestamp.now(tz="UTC").as_unit("ns"))  # the batch contract: ns
    return out


@register_step(kind="sink")
def record(self, path, *, table: str = "recording", rows_per_file: int = 100_000):
    """Record the stream: SQLite for ``.db``/``.sqlite`` (table ``recording``, indexed on
    ``arrival_time`` and the event time), Parquet for ``.parquet`` (a folder of files). Returns
    the sink node (its ``.stats`` and ``.errors``).

    Examples
    --------
    >>> import tempfile, pathlib, streamlab
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.db"
    >>> src = streamlab.generate("noise", rows=300)
    >>> sink = src.record(path)
    >>> _ = streamlab.run(src)
    >>> again = streamlab.replay(path, speed=0)
    >>> again.time_column, sink.stats.rows
    ('arrival_time', 300)
    """
    path = Path(path)
    name = path.name.lower()
    stamped = self.map(stamp_arrival)
    if name.endswith((".db", ".sqlite", ".sqlite3")):
        return stamped.to_sqlite(path, table)
    if name.endswith(".parquet"):
        return stamped.to_parquet(path, rows_per_file=rows_per_file)
    raise ConfigError(
        f"record() writes SQLite (.db, .sqlite) or Parquet (.parquet), not "
        f"{path.name!r}; for CSV use the command `streamlab record`"
    )
