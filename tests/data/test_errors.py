"""Every user-fixable data problem is one DataError line naming file, column and row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import prepare_data
from honed.errors import DataError, UserInputError

from .conftest import spec, write_images


def fails(source, match: str, **kwargs) -> str:
    with pytest.raises(DataError, match=match) as info:
        prepare_data(spec(source, **kwargs), seed=0)
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, UserInputError)
    return message


def test_missing_file_is_named(tmp_path):
    fails(tmp_path / "nope.csv", r"data file not found: .*nope\.csv", target="y")
    fails(tmp_path / "nope.npz", r"data file not found: .*nope\.npz")
    fails(tmp_path / "nothing", r"data source not found: .*nothing")


def test_relative_path_is_read_from_base_dir(tmp_path):
    with pytest.raises(DataError, match=r"data file not found: .*specs.d\.csv"):
        prepare_data(spec("d.csv", target="y"), seed=0, base_dir=tmp_path / "specs")


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    fails(tmp_path / "bad.parquet", r"cannot read .*bad\.parquet", target="y")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    fails(tmp_path / "bad.npz", r"cannot read .*bad\.npz")
    (tmp_path / "bad.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    fails(tmp_path / "bad.csv", r"cannot read .*bad\.csv", target="b")
    (tmp_path / "data.txt").write_text("x")
    fails(tmp_path / "data.txt", r"cannot tell how to read .*data\.txt")


def test_missing_target_column_lists_the_columns(tmp_path):
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", r"t\.csv has no column 'label' \(data\.target\); columns: a, b",
          target="label")
    fails(tmp_path / "t.csv", r"set data\.target .* columns: a, b")
    fails(tmp_path / "t.csv", r"no column 'zzz' \(data\.features\)", target="b", features=["zzz"])


def test_junk_in_a_numeric_column_names_file_column_row_and_value(tmp_path):
    values = [str(v) for v in range(20)]
    values[12] = "12,5"
    pd.DataFrame({"a": values, "y": [0, 1] * 10}).to_csv(tmp_path / "t.csv", index=False)
    message = fails(tmp_path / "t.csv", "column 'a' row 13 holds '12,5', not a number",
                    target="y")
    assert "t.csv" in message


def test_junk_in_the_target_column(tmp_path):
    target = [f"{v}.5" for v in range(20)]
    target[3] = "n/a?"
    pd.DataFrame({"a": range(20), "y": target}).to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", "column 'y' row 4 holds 'n/a\\?'", target="y")


def test_infinite_values(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0, np.inf] * 5, "y": [0, 1, 0] * 5}).to_csv(tmp_path / "t.csv",
                                                                          index=False)
    fails(tmp_path / "t.csv", "column 'a' row 3 holds .*not a finite number", target="y")


def test_empty_tables(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    fails(tmp_path / "empty.csv", r"empty\.csv is empty", target="y")
    (tmp_path / "header.csv").write_text("a,y\n")
    fails(tmp_path / "header.csv", r"header\.csv has no data rows", target="y")
    pd.DataFrame({"y": [0, 1]}).to_csv(tmp_path / "only.csv", index=False)
    fails(tmp_path / "only.csv", "no input columns besides the target 'y'", target="y")


def test_missing_target_value_names_the_row(tmp_path):
    frame = pd.DataFrame({"a": range(20), "y": ["u", "v"] * 10})
    frame.loc[6, "y"] = None
    frame.to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", r"t\.csv: row 7 has no value in target column 'y'", target="y")


def test_single_class_target(tmp_path):
    pd.DataFrame({"a": range(20), "y": ["same"] * 20}).to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", "target column 'y' has one class \\('same'\\)", target="y")


def test_too_few_rows_for_the_split(tmp_path):
    pd.DataFrame({"a": [1, 2, 3], "y": [0, 1, 0]}).to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", "too few rows for the split: 3 rows", target="y")


def test_regression_needs_numbers(tmp_path):
    pd.DataFrame({"a": range(20), "y": ["u", "v"] * 10}).to_csv(tmp_path / "t.csv", index=False)
    fails(tmp_path / "t.csv", "regression needs numbers", target="y", task="regression")


def test_dates_are_refused(tmp_path):
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=20), "y": [0, 1] * 10})
    frame.to_parquet(tmp_path / "t.parquet")
    fails(tmp_path / "t.parquet", "column 'when' holds dates", target="y")


def test_npz_problems(tmp_path):
    np.savez(tmp_path / "nox.npz", y=np.zeros(4))
    fails(tmp_path / "nox.npz", r"nox\.npz has no array 'x'; arrays: y")
    np.savez(tmp_path / "len.npz", x=np.zeros((4, 2)), y=np.zeros(5))
    fails(tmp_path / "len.npz", "differ in length: 4 and 5")
    np.savez(tmp_path / "text.npz", x=np.array([["a", "b"]] * 4), y=np.zeros(4))
    fails(tmp_path / "text.npz", "array 'x' must be numeric")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    fails(tmp_path / "obj.npz", "array 'x' holds Python objects")
    np.savez(tmp_path / "dims.npz", x=np.zeros((4, 2, 2, 2, 2)), y=np.zeros(4))
    fails(tmp_path / "dims.npz", "must be 2-D .* got shape \\(4, 2, 2, 2, 2\\)")
    x = np.zeros((10, 3, 2))
    x[4, 1, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(10) % 2)
    fails(tmp_path / "nan.npz", "array 'x' sample 4 holds NaN")


def test_image_folder_problems(tmp_path):
    from PIL import Image

    write_images(tmp_path / "sizes", {"a": 3, "b": 3})
    Image.new("L", (7, 7)).save(tmp_path / "sizes" / "b" / "002.png")
    message = fails(tmp_path / "sizes", r"image .*b.002\.png is 7x7 L; expected 6x5 L")
    assert "a/000.png" in message.replace("\\", "/")

    write_images(tmp_path / "modes", {"a": 2, "b": 2})
    Image.new("RGB", (6, 5)).save(tmp_path / "modes" / "a" / "001.png")
    fails(tmp_path / "modes", r"image .*a.001\.png is 6x5 RGB; expected 6x5 L")

    write_images(tmp_path / "broken", {"a": 2, "b": 2})
    (tmp_path / "broken" / "b" / "001.png").write_bytes(b"\x89PNG not really")
    fails(tmp_path / "broken", r"cannot read image .*b.001\.png")

    (tmp_path / "flat").mkdir()
    fails(tmp_path / "flat", "has no class subfolders")
    write_images(tmp_path / "one", {"only": 3})
    fails(tmp_path / "one", "has one class \\('only'\\)")
    write_images(tmp_path / "hollow", {"a": 2})
    (tmp_path / "hollow" / "b").mkdir()
    fails(tmp_path / "hollow", r"class folder .*hollow.b has no images")


def test_source_and_spec_mismatches(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 2)), y=np.arange(10) % 2)
    fails(tmp_path / "d.npz", "data.features selects table columns", features=["x0"])
    fails(tmp_path / "d.npz", "forecasting reads a series from a CSV", task="forecasting")
    fails("builtin:digits", "data.features selects table columns", features=["x"])
    fails("builtin:co2", "too few time steps", window={"lookback": 2000})
