"""The shipped datasets load, match their metadata and the README, and replay in time order."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from streamlab import datasets
from streamlab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "datasets" / "README.md"
NAMES = datasets.names()


def _readme_table() -> dict[str, dict[str, str]]:
    """Rows of the summary table in datasets/README.md, keyed by dataset name."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            if header is not None and rows:
                break  # only the first table
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif set("".join(cells)) <= set("-: "):
            continue
        else:
            row = dict(zip(header, cells, strict=True))
            rows[row["name"].strip("`")] = row
    return rows


def test_names_match_metadata_and_readme():
    assert sorted(datasets.DATASETS) == NAMES
    assert len(NAMES) >= 2
    assert sorted(_readme_table()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_file_is_small_gzip_csv_with_header(name):
    p = datasets.path(name)
    assert p.is_file()
    assert p.name == datasets.DATASETS[name]["file"]
    assert p.stat().st_size <= 2 * 1024 * 1024
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8", newline="") as f:
        header = f.readline().rstrip("\n").split(",")
    assert header == datasets.DATASETS[name]["columns"]
    for column in header:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", column), column


@pytest.mark.parametrize("name", NAMES)
def test_load_has_promised_columns_and_types(name):
    meta = datasets.info(name)
    df = datasets.load(name)
    assert list(df.columns) == datasets.DATASETS[name]["columns"]
    time = meta["time_column"]
    assert str(df[time].dtype) == "datetime64[ns, UTC]"
    assert df[time].notna().all()
    for col in meta["value_columns"]:
        assert col in df.columns
        assert pd.api.types.is_numeric_dtype(df[col]), col
        assert df[col].notna().all(), col
    key = meta["key_column"]
    if key is not None:
        assert df[key].notna().all()
        assert all(isinstance(v, str) for v in df[key].unique())


@pytest.mark.parametrize("name", NAMES)
def test_time_is_monotonic_non_decreasing(name):
    df = datasets.load(name)
    assert df[datasets.info(name)["time_column"]].is_monotonic_increasing


@pytest.mark.parametrize("name", NAMES)
def test_row_count_matches_metadata_and_readme(name):
    n = len(datasets.load(name))
    assert n == datasets.DATASETS[name]["rows"]
    row = _readme_table()[name]
    assert int(row["rows"]) == n
    assert row["file"].strip("`") == datasets.DATASETS[name]["file"]
    assert [c.strip(" `") for c in row["columns"].split(",")] == datasets.DATASETS[name]["columns"]


@pytest.mark.parametrize("name", NAMES)
def test_info_shape(name):
    meta = datasets.info(name)
    assert set(meta) == {
        "name",
        "file",
        "time_column",
        "key_column",
        "value_columns",
        "description",
        "licence",
        "source",
    }
    assert meta["name"] == name
    for key in ("description", "licence", "source"):
        assert isinstance(meta[key], str)
        assert meta[key]
        assert "://" not in meta[key]
    # a copy: callers cannot corrupt the module metadata
    meta["value_columns"].append("oops")
    assert "oops" not in datasets.DATASETS[name]["value_columns"]


def test_readme_has_a_section_per_dataset():
    text = README.read_text(encoding="utf-8")
    for name in NAMES:
        assert f"## `{name}`" in text
    assert "://" not in text


def test_sea_temperature_values():
    df = datasets.load("sea_temperature")
    assert df["time"].iloc[0] == pd.Timestamp("2016-02-15T00:00:00Z")
    assert df["time"].iloc[-1] == pd.Timestamp("2017-03-22T00:00:00Z")
    assert set(df["station"]) == {"B01"}
    assert df["temperature_c"].between(-2, 35).all()


def test_stocks_values():
    df = datasets.load("stocks")
    counts = df["ticker"].value_counts().to_dict()
    assert counts == {"AAPL": 3270, "IBM": 3270, "MSFT": 3270, "GOOG": 2148, "FB": 196}
    assert pd.api.types.is_integer_dtype(df["volume"])
    assert (df["low"] <= df["high"]).all()
    assert not df.duplicated(["date", "ticker"]).any()


@pytest.mark.parametrize("func", [datasets.path, datasets.load, datasets.info])
def test_unknown_name_error_message(func):
    with pytest.raises(ConfigError) as excinfo:
        func("sea_temp")
    assert str(excinfo.value) == (
        "name='sea_temp' is not one of 'sea_temperature', 'stocks'. Did you mean 'sea_temperature'?"
    )


def test_unknown_name_without_close_match():
    with pytest.raises(ConfigError) as excinfo:
        datasets.path("zzz")
    assert str(excinfo.value) == "name='zzz' is not one of 'sea_temperature', 'stocks'."


def test_unknown_name_is_also_value_error():
    with pytest.raises(ValueError, match="Did you mean 'stocks'"):
        datasets.load("stock")


def test_path_prefers_installed_folder(tmp_path, monkeypatch):
    installed = tmp_path / "streamlab"
    (installed / "_datasets").mkdir(parents=True)
    fake = installed / "_datasets" / "stocks.csv.gz"
    fake.write_bytes(b"")
    monkeypatch.setattr(datasets, "__file__", str(installed / "datasets.py"))
    assert datasets.path("stocks") == fake


def test_path_missing_file_names_the_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "__file__", str(tmp_path / "streamlab" / "datasets.py"))
    with pytest.raises(FileNotFoundError, match=r"stocks\.csv\.gz"):
        datasets.path("stocks")
