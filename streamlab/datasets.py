"""Small real datasets that ship with streamlab, ready to replay with their original timing.

Each dataset is a CSV file (gzip-compressed) with a header and an event-time column. Provenance,
licences and the exact derivation are in ``datasets/README.md`` (installed as
``streamlab/_datasets/README.md``).

Examples
--------
>>> from streamlab import datasets
>>> datasets.names()
['sea_temperature', 'stocks']
>>> df = datasets.load("sea_temperature")
>>> df.columns.tolist()
['time', 'station', 'temperature_c']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .core.checks import check_choice

__all__ = ["DATASETS", "info", "load", "names", "path"]

#: Metadata for every shipped dataset (plain data; nothing is read at import time).
#: ``columns`` lists every column in file order, ``rows`` the number of data rows.
DATASETS: dict[str, dict[str, Any]] = {
    "sea_temperature": {
        "file": "sea_temperature.csv.gz",
        "time_column": "time",
        "key_column": "station",
        "value_columns": ["temperature_c"],
        "columns": ["time", "station", "temperature_c"],
        "rows": 19226,
        "description": (
            "Sea water temperature (degrees Celsius) every 30 minutes at NERACOOS buoy B01, "
            "Western Maine Shelf, Gulf of Maine, 2016-02-15 to 2017-03-22 (UTC). Time is "
            "non-decreasing; one timestamp (2017-03-21T16:30Z) occurs twice, as in the source, "
            "and there are two gaps (1 h and 12 h)."
        ),
        "licence": (
            "NERACOOS data terms: may be used and redistributed for free, "
            "not intended for legal use (no warranty)"
        ),
        "source": (
            "NERACOOS (Northeastern Regional Association of Coastal Ocean Observing Systems), "
            "station B01, dataset B01_sbe37_all; extract as packaged in bokeh_sampledata 2026.1"
        ),
    },
    "stocks": {
        "file": "stocks.csv.gz",
        "time_column": "date",
        "key_column": "ticker",
        "value_columns": ["open", "high", "low", "close", "volume", "adj_close"],
        "columns": ["date", "ticker", "open", "high", "low", "close", "volume", "adj_close"],
        "rows": 12154,
        "description": (
            "Daily US stock prices (USD) and volumes (shares) for AAPL, FB, GOOG, IBM and MSFT, "
            "2000-03-01 to 2013-03-01. One row per ticker per trading day, sorted by date then "
            "ticker, so time is non-decreasing with several rows per date. Dates are trading "
            "days; load() represents them as midnight UTC."
        ),
        "licence": "Public domain (Quandl WIKI Prices)",
        "source": (
            "Quandl WIKI Prices (community-maintained end-of-day US stock prices); extract as "
            "packaged in bokeh_sampledata 2026.1"
        ),
    },
}

_INFO_KEYS = (
    "file",
    "time_column",
    "key_column",
    "value_columns",
    "description",
    "licence",
    "source",
)


def names() -> list[str]:
    """The names of the shipped datasets, sorted.

    Examples
    --------
    >>> names()
    ['sea_temperature', 'stocks']
    """
    return sorted(DATASETS)


def _folders() -> list[Path]:
    here = Path(__file__).resolve().parent
    # installed wheel first, then a source checkout / editable install
    return [here / "_datasets", here.parent / "datasets"]


def path(name: str) -> Path:
    """Where the file of dataset ``name`` is.

    Looks in the installed package (``streamlab/_datasets``) and then in the source checkout
    (``datasets/`` next to the package).

    Examples
    --------
    >>> p = path("stocks")
    >>> p.name, p.is_file()
    ('stocks.csv.gz', True)
    >>> path("sea_temp")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: name='sea_temp' is not one of ... Did you mean 'sea_temperature'?
    """
    check_choice("name", name, names())
    filename = DATASETS[name]["file"]
    folders = _folders()
    for folder in folders:
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(f) for f in folders)
    raise FileNotFoundError(
        f"dataset {name!r}: file {filename!r} not found in {looked}; "
        "reinstall streamlab or restore the datasets/ folder of the source checkout"
    )


def load(name: str) -> pd.DataFrame:
    """Read dataset ``name`` into a pandas DataFrame, time column as ``datetime64[ns, UTC]``.

    Rows keep the file order (time non-decreasing); the key column is read as text.

    Examples
    --------
    >>> df = load("sea_temperature")
    >>> len(df), str(df["time"].dtype)
    (19226, 'datetime64[ns, UTC]')
    >>> print(df.head(2))
                           time station  temperature_c
    0 2016-02-15 00:00:00+00:00     B01          4.929
    1 2016-02-15 00:30:00+00:00     B01          4.887
    >>> stocks = load("stocks")
    >>> sorted(stocks["ticker"].unique())
    ['AAPL', 'FB', 'GOOG', 'IBM', 'MSFT']
    >>> str(stocks["date"].iloc[0])
    '2000-03-01 00:00:00+00:00'
    """
    meta = DATASETS[check_choice("name", name, names())]
    dtype = {meta["key_column"]: str} if meta["key_column"] else None
    df = pd.read_csv(path(name), dtype=dtype)
    col = meta["time_column"]
    df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    return df


def info(name: str) -> dict:
    """Metadata of dataset ``name``: file, time/key/value columns, description, licence, source.

    Examples
    --------
    >>> meta = info("sea_temperature")
    >>> meta["time_column"], meta["key_column"], meta["value_columns"]
    ('time', 'station', ['temperature_c'])
    >>> sorted(meta)
    ['description', 'file', 'key_column', 'licence', 'name', 'source',
     'time_column', 'value_columns']
    >>> info("stocks")["licence"]
    'Public domain (Quandl WIKI Prices)'
    """
    meta = DATASETS[check_choice("name", name, names())]
    out: dict[str, Any] = {"name": name}
    for key in _INFO_KEYS:
        value = meta[key]
        out[key] = list(value) if isinstance(value, list) else value
    return out
