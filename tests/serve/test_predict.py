"""``honed predict`` and ``predict_file``: tables, arrays, image folders; bad rows by number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honed.errors import DataError, UserInputError
from honed.serve.predict import PROGRESS_ROWS, predict_file
from honed.serve.runtime import load_runtime
from tests.serve.conftest import honed

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def iris_table(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.uniform(0.5, 7, size=(n, 4)).round(2), columns=COLUMNS)


def test_csv_in_csv_and_json_out_match_the_runtime(bundles, tmp_path):
    table = iris_table()
    table["target"] = "setosa"  # a labelled file is accepted: the target column is ignored
    table.to_csv(tmp_path / "in.csv", index=False)
    done = honed("predict", bundles["iris"], tmp_path / "in.csv", "--out", tmp_path / "p.csv")
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "p.csv")
    assert list(out.columns) == ["row", "class", "p_setosa", "p_versicolor", "p_virginica"]
    expected = load_runtime(bundles["iris"]).predict(table[COLUMNS])
    assert list(out["class"]) == expected.labels and list(out["row"]) == list(range(1, 7))
    np.testing.assert_allclose(out.iloc[:, 2:].to_numpy(), expected.probabilities, rtol=1e-4)
    rows = predict_file(bundles["iris"], tmp_path / "in.csv", tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text()) == rows
    assert rows[0]["class"] == expected.labels[0]


def test_parquet_and_stdout(bundles, tmp_path):
    iris_table(3).to_parquet(tmp_path / "in.parquet")
    done = honed("predict", bundles["iris"], tmp_path / "in.parquet")
    assert done.returncode == 0 and done.stdout.splitlines()[0].startswith("row,class,p_")
    assert len(done.stdout.splitlines()) == 4


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz"])
def test_a_compressed_csv_predicts_as_the_plain_one(bundles, tmp_path, suffix):
    # read as training reads it: spaces after the commas are dropped, as data.source does
    table = iris_table(5)
    table.to_csv(tmp_path / f"in{suffix}", index=False)  # pandas compresses by the suffix
    plain = predict_file(bundles["iris"], _spaced_csv(table, tmp_path / "in.csv"),
                         tmp_path / "plain.json")
    done = honed("predict", bundles["iris"], tmp_path / f"in{suffix}", "--out",
                 tmp_path / "p.json")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "p.json").read_text()) == plain
    assert [r["class"] for r in plain] == load_runtime(bundles["iris"]).predict(table).labels


def _spaced_csv(table: pd.DataFrame, path: Path) -> Path:
    """``table`` as a CSV with a space after each comma (what a hand-written file has)."""
    lines = [", ".join(table.columns)] + [", ".join(map(str, row)) for row in table.values]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_truncated_archive_is_one_line_and_nothing_is_written(bundles, tmp_path):
    iris_table(50).to_csv(tmp_path / "full.csv.gz", index=False)
    data = (tmp_path / "full.csv.gz").read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    done = honed("predict", bundles["iris"], tmp_path / "cut.csv.gz", "--out",
                 tmp_path / "p.csv")
    assert done.returncode == 2 and not (tmp_path / "p.csv").exists()
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and f"cannot read {tmp_path / 'cut.csv.gz'}" in line
    (tmp_path / "in.csv.zst").write_bytes(data)
    with pytest.raises(DataError, match=r"unknown input type; give a \.csv \(or \.csv\.gz"):
        predict_file(bundles["iris"], tmp_path / "in.csv.zst", tmp_path / "p.csv")


def test_bad_rows_are_reported_by_number_and_nothing_is_written(bundles, tmp_path):
    table = iris_table(8).astype(object)
    table.loc[2, COLUMNS[0]] = "abc"
    table.loc[5, COLUMNS[1]] = "x1"
    table.to_csv(tmp_path / "bad.csv", index=False)
    done = honed("predict", bundles["iris"], tmp_path / "bad.csv", "--out", tmp_path / "p.csv")
    assert done.returncode == 2 and not (tmp_path / "p.csv").exists()
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "2 rows failed validation" in line and "row 3 column 'sepal length (cm)'" in line
    assert "row 6" in line


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns=[COLUMNS[1]]), "missing column(s) 'sepal width (cm)'"),
    (lambda t: t.assign(color="red"), "unknown column(s) 'color'"),
])
def test_missing_or_extra_columns(bundles, tmp_path, change, message):
    change(iris_table()).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError) as error:
        predict_file(bundles["iris"], tmp_path / "in.csv", tmp_path / "p.csv")
    assert message in str(error.value) and not (tmp_path / "p.csv").exists()


def test_npz_arrays_and_their_errors(bundles, tmp_path):
    x = np.random.default_rng(0).integers(0, 17, size=(5, 1, 8, 8)).astype(np.float64)
    np.savez(tmp_path / "x.npz", x=x)
    rows = predict_file(bundles["digits"], tmp_path / "x.npz", tmp_path / "p.csv")
    assert [r["class"] for r in rows] == load_runtime(bundles["digits"]).predict(x).labels
    x[3, 0, 2, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=x)
    with pytest.raises(DataError, match=r"x\[3\] holds NaN"):
        predict_file(bundles["digits"], tmp_path / "nan.npz", tmp_path / "q.csv")
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 1, 7, 8)))
    with pytest.raises(DataError, match="expected"):
        predict_file(bundles["digits"], tmp_path / "shape.npz", tmp_path / "q.csv")
    assert not (tmp_path / "q.csv").exists()
    with pytest.raises(DataError, match="not trained on 8-bit image files"):
        predict_file(bundles["digits"], bundles["images"], tmp_path / "q.csv")


def test_an_image_folder_and_a_wrong_size_image(bundles, tmp_path):
    from PIL import Image

    rows = predict_file(bundles["shapes"], bundles["images"], tmp_path / "p.json")
    assert len(rows) == 32 and rows[0]["file"] == "bottom/00.png"
    assert {r["class"] for r in rows} <= {"bottom", "top"}
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("L", (8, 8)).save(folder / "a.png")
    Image.new("L", (9, 8)).save(folder / "b.png")
    done = honed("predict", bundles["shapes"], folder, "--out", tmp_path / "q.csv")
    assert done.returncode == 2 and "b.png is 9x8; expected 8x8" in done.stderr
    assert not (tmp_path / "q.csv").exists()


def test_large_input_with_progress_and_bad_arguments(bundles, tmp_path):
    iris_table(PROGRESS_ROWS + 10).to_csv(tmp_path / "big.csv", index=False)
    rows = predict_file(bundles["iris"], tmp_path / "big.csv", tmp_path / "p.csv",
                        progress=True)
    assert len(rows) == PROGRESS_ROWS + 10
    with pytest.raises(UserInputError, match=".csv or .json"):
        predict_file(bundles["iris"], tmp_path / "big.csv", tmp_path / "p.txt")
    done = honed("predict", bundles["iris"], tmp_path / "nothing.csv")
    assert done.returncode == 2 and "input not found" in done.stderr


def test_predicting_files_never_imports_torch(bundles, tmp_path):
    import subprocess
    import sys

    iris_table(3).to_csv(tmp_path / "in.csv", index=False)
    code = ("import sys; from honed.serve.predict import predict_file; "
            f"predict_file({str(bundles['iris'])!r}, {str(tmp_path / 'in.csv')!r}, "
            f"{str(tmp_path / 'a.json')!r}); "
            f"predict_file({str(bundles['shapes'])!r}, {str(bundles['images'])!r}, "
            f"{str(tmp_path / 'b.json')!r}); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.json").is_file() and (tmp_path / "b.json").is_file()
