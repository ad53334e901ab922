"""``apply_preprocess`` replays training's preprocessing exactly, from JSON alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from honed.data import apply_preprocess, inverse_target_scale, load_builtin, prepare_data
from honed.errors import DataError

from .conftest import mixed_table, spec, write_images


def roundtrip(preprocess: dict) -> dict:
    # JSON-ready: no NaN, no numpy types; reading it back changes nothing
    text = json.dumps(preprocess, allow_nan=False)
    assert json.loads(text) == preprocess
    return json.loads(text)


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_table_parity_from_the_raw_file(tmp_path, encoding):
    mixed_table().to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="label", clean={"encoding": encoding}),
                        seed=0)
    preprocess = roundtrip(data.preprocess)
    raw = pd.read_csv(tmp_path / "t.csv").drop(columns=["label"])
    np.testing.assert_array_equal(apply_preprocess(preprocess, raw.iloc[data.test.index]),
                                  data.test.x)
    np.testing.assert_array_equal(apply_preprocess(preprocess, raw.iloc[data.train.index]),
                                  data.train.x)
    # the serving forms: row dicts with text numbers, and columns in any order
    records = raw.iloc[data.test.index[:3]][::-1].to_dict(orient="records")
    records = [{k: (str(v) if k == "age" and v == v else v) for k, v in r.items()}
               for r in records][::-1]
    np.testing.assert_array_equal(apply_preprocess(preprocess, records), data.test.x[:3])


def test_table_input_errors(tmp_path):
    mixed_table().to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="label"), seed=0)
    with pytest.raises(DataError, match="input has no column 'flag'; expected columns: age"):
        apply_preprocess(data.preprocess, pd.DataFrame({"age": [1.0], "income": [2.0],
                                                        "color": ["red"]}))
    with pytest.raises(DataError, match="input column 'age' row 2 holds 'old', not a number"):
        apply_preprocess(data.preprocess, [{"age": 3, "income": 1, "color": "red", "flag": 0},
                                           {"age": "old", "income": 1, "color": "red",
                                            "flag": 0}])


@pytest.mark.parametrize("name", ["digits", "mnist1d", "iris", "diabetes"])
def test_builtin_parity(name):
    data = prepare_data(spec(f"builtin:{name}"), seed=1)
    raw = load_builtin(name)
    rows = raw.x.iloc[data.test.index] if raw.kind == "table" else raw.x[data.test.index]
    np.testing.assert_array_equal(apply_preprocess(roundtrip(data.preprocess), rows),
                                  data.test.x)


def test_image_folder_parity_and_single_sample(tmp_path):
    write_images(tmp_path / "imgs", {"a": 5, "b": 5})
    data = prepare_data(spec(tmp_path / "imgs"), seed=0)
    from honed.data import load_source

    raw = load_source(spec(tmp_path / "imgs"))
    preprocess = roundtrip(data.preprocess)
    np.testing.assert_array_equal(apply_preprocess(preprocess, raw.x[data.test.index]),
                                  data.test.x)
    one = apply_preprocess(preprocess, raw.x[data.test.index[0]])  # (C, H, W) without batch
    np.testing.assert_array_equal(one, data.test.x[:1])
    with pytest.raises(DataError, match="do not fit the model's input shape \\(1, 5, 6\\)"):
        apply_preprocess(preprocess, np.zeros((2, 1, 6, 6)))


def test_inverse_target_scale(tmp_path):
    data = prepare_data(spec("builtin:diabetes"), seed=0)
    raw = load_builtin("diabetes").y[data.test.index]
    np.testing.assert_allclose(inverse_target_scale(data.preprocess, data.test.y)[:, 0], raw,
                               rtol=1e-5)


def test_preprocess_describes_everything():
    data = prepare_data(spec("builtin:wine"), seed=0)
    p = data.preprocess
    for key in ("format", "version", "kind", "task", "input_shape", "columns", "clean",
                "scaler", "feature_names", "class_names", "target_scale"):
        assert key in p
    assert p["input_shape"] == [13] and p["class_names"] == data.class_names
    assert all({"name", "type", "dtype", "impute", "clip", "outputs"} <= set(c)
               for c in p["columns"])
