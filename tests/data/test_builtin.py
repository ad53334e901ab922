"""Built-in data sets: offline, the shapes and tasks they declare, deterministic."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from honed.data import list_datasets, load_builtin, prepare_data, register_dataset
from honed.data import registry as registry_module
from honed.data.mnist1d import make_mnist1d
from honed.errors import DataError

from .conftest import spec

EXPECTED = {
    # name: (task, kind of the prepared data, input shape, number of outputs)
    "digits": ("classification", "image", (1, 8, 8), 10),
    "breast_cancer": ("classification", "table", (30,), 2),
    "wine": ("classification", "table", (13,), 3),
    "iris": ("classification", "table", (4,), 3),
    "diabetes": ("regression", "table", (10,), 1),
    "mnist1d": ("classification", "sequence", (40, 1), 10),
    "mnist": ("classification", "image", (1, 28, 28), 10),
    "co2": ("forecasting", "sequence", (8, 1), 2),
    "sunspots": ("forecasting", "sequence", (8, 1), 2),
}


def test_list_datasets_names_every_builtin():
    infos = {info.name: info for info in list_datasets()}
    assert set(EXPECTED) <= set(infos)
    for info in infos.values():
        assert info.description and info.task in ("classification", "regression", "forecasting")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_matches_its_declared_info(name):
    info = next(i for i in list_datasets() if i.name == name)
    raw = load_builtin(name)
    assert len(raw) == info.size
    assert tuple(raw.x.shape[1:]) == info.shape
    assert raw.kind == info.kind


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_prepares_with_expected_shapes(name):
    task, kind, shape, outputs = EXPECTED[name]
    data_spec = spec(f"builtin:{name}", window={"lookback": 8, "horizon": 2})
    data = prepare_data(data_spec, seed=3)
    assert (data.task, data.kind, data.input_shape, data.num_outputs) == (task, kind, shape,
                                                                          outputs)
    for split in (data.train, data.val, data.test):
        assert split.x.dtype == np.float32 and split.x.shape[1:] == shape
        if task == "classification":
            assert split.y.dtype == np.int64 and split.y.ndim == 1
            assert split.y.max() < outputs
        else:
            assert split.y.dtype == np.float32 and split.y.shape[1] == outputs
    again = prepare_data(data_spec, seed=3)
    np.testing.assert_array_equal(data.train.x, again.train.x)
    np.testing.assert_array_equal(data.test.y, again.test.y)
    if task == "classification":
        assert len(data.class_names) == outputs
    if kind == "table":
        assert len(data.feature_names) == shape[0]


def test_builtin_names_and_labels():
    iris = prepare_data(spec("builtin:iris"), seed=0)
    assert iris.class_names == ["setosa", "versicolor", "virginica"]
    assert iris.feature_names[0] == "sepal length (cm)"
    assert prepare_data(spec("builtin:breast_cancer"), seed=0).class_names == ["malignant",
                                                                               "benign"]
    mnist = load_builtin("mnist")
    assert mnist.x.dtype == np.uint8 and mnist.x.max() == 255 and mnist.pixel_scale == 255.0
    assert np.bincount(mnist.y).min() > 400  # a real, roughly balanced MNIST subset


def test_co2_is_complete_and_in_order():
    co2 = load_builtin("co2").x["co2"].to_numpy()
    assert not np.isnan(co2).any()  # the unmeasured weeks are interpolated
    assert 310 < co2[0] < 320 and 360 < co2[-1] < 380  # ppm, rising over the decades


def test_builtin_copies_are_private():
    first = load_builtin("mnist1d")
    first.x[:] = 0
    assert load_builtin("mnist1d").x.std() > 0.5


def test_mnist1d_matches_the_reference_generator():
    x, y = make_mnist1d()
    assert x.shape == (5000, 40) and y.shape == (5000,)
    assert np.bincount(y).tolist() == [500] * 10
    # first sequence and labels of the reference implementation (greydanus/mnist1d, seed 42)
    np.testing.assert_allclose(x[0, :5], [-0.33200567, -0.47191037, -0.77869708, -1.00974083,
                                          -0.88235257], atol=1e-7)
    assert y[:10].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1]
    assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
    x2, y2 = make_mnist1d()
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = make_mnist1d(seed=7, num_samples=100)
    assert x3.shape == (100, 40)


def test_mnist1d_prepare_is_stratified_and_generated_once():
    from honed.data.mnist1d import _generate

    data = prepare_data(spec("builtin:mnist1d"), seed=0)
    generated = _generate.cache_info().misses
    again = prepare_data(spec("builtin:mnist1d"), seed=1)  # another split of the same data
    assert _generate.cache_info().misses == generated  # not generated a second time
    counts = np.bincount(data.test.y, minlength=10)
    assert counts.min() == counts.max() == 75  # 15% of 500 per class
    assert not np.array_equal(data.test.y, again.test.y)


def test_digits_load_without_importing_scikit_learn():
    # what keeps the first data set people try fast: scikit-learn's import takes most of a
    # second, and digits reads its file without it (the state, not a wall-clock bound)
    code = ("import sys; from honed.data import prepare_data; from honed.spec.schema import "
            "DataSpec; d = prepare_data(DataSpec(source='builtin:digits'), seed=0); "
            "print(len(d.train) + len(d.val) + len(d.test), 'sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1797", "False"]


def test_unknown_builtin_lists_the_valid_names():
    with pytest.raises(DataError, match=r"unknown dataset 'builtin:nope'.*digits.*mnist1d"):
        prepare_data(spec("builtin:nope"), seed=0)


def test_builtin_task_cannot_be_overridden():
    with pytest.raises(DataError, match="classification dataset; data.task is 'regression'"):
        prepare_data(spec("builtin:iris", task="regression"), seed=0)


def test_builtin_feature_subset():
    data = prepare_data(spec("builtin:iris", features=["petal length (cm)"]), seed=0)
    assert data.input_shape == (1,) and data.feature_names == ["petal length (cm)"]
    with pytest.raises(DataError, match="no column 'petal' .*sepal length"):
        prepare_data(spec("builtin:iris", features=["petal"]), seed=0)


@pytest.fixture
def custom_name():
    name = "test_xor_blobs"
    yield name
    registry_module._DATASETS._entries.pop(name, None)


def test_register_dataset_from_arrays(custom_name):
    @register_dataset(custom_name, description="xor", task="classification", kind="table",
                      shape=(2,), size=80)
    def xor():
        rng = np.random.default_rng(0)
        x = rng.integers(0, 2, (80, 2)).astype(float)
        return x + rng.normal(0, 0.1, x.shape), (x[:, 0] != x[:, 1]).astype(np.int64)

    assert custom_name in [info.name for info in list_datasets()]
    data = prepare_data(spec(f"builtin:{custom_name}"), seed=0)
    assert data.task == "classification" and data.input_shape == (2,)
    assert data.class_names == ["0", "1"]
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(custom_name, description="again", task="regression", kind="table")(xor)
