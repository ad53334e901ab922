import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from honed.errors import UserInputError
from honed.train.metrics import (
    classification_metrics,
    compute_metrics,
    confusion_matrix,
    metric_mode,
    metrics_for_task,
    parse_monitor,
    regression_metrics,
)


@pytest.mark.parametrize("seed", range(5))
def test_classification_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 7))
    y = rng.integers(0, classes, size=200)
    logits = rng.normal(size=(200, classes)) + 1.5 * np.eye(classes)[y] * rng.random((200, 1))
    pred = logits.argmax(axis=1)
    got = classification_metrics(y, logits)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                     ("f1", skm.f1_score)):
        assert got[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0)), name
    assert all(type(value) is float for value in got.values())


def test_classes_never_predicted_or_absent_follow_sklearn():
    y = np.array([0, 0, 1, 1, 2, 2, 3])
    pred = np.array([0, 0, 0, 1, 1, 1, 4])  # class 2 never predicted, 4 never true
    logits = np.eye(6)[pred]  # class 5: in neither, so left out of the macro average
    got = classification_metrics(y, logits)
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                     ("f1", skm.f1_score)):
        assert got[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0)), name


def test_classification_accepts_tensors_labels_and_soft_targets():
    y = torch.tensor([0, 1, 2, 2])
    logits = torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [2.0, 0, 0]], dtype=torch.bfloat16)
    expected = classification_metrics(y.numpy(), logits.float().numpy())
    assert classification_metrics(y, logits) == expected
    assert classification_metrics(y, torch.tensor([0, 1, 2, 0])) == expected
    assert classification_metrics(torch.eye(3)[y], logits) == expected
    assert expected["accuracy"] == 0.75


def test_classification_rejects_ambiguous_inputs():
    with pytest.raises(ValueError, match="one score column"):
        classification_metrics([0, 1], np.array([[0.2], [0.9]]))
    with pytest.raises(ValueError, match="integer class indices"):
        classification_metrics([0, 1], np.array([0.2, 0.9]))
    with pytest.raises(ValueError, match="rows"):
        classification_metrics([0, 1, 1], np.zeros((2, 2)))


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    got = confusion_matrix(y, pred, num_classes=5)
    assert got == skm.confusion_matrix(y, pred, labels=range(5)).tolist()
    assert type(got[0][0]) is int
    with pytest.raises(ValueError, match=r"outside \[0, 3\)"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)


@pytest.mark.parametrize("shape", [(50,), (50, 1), (50, 3), (40, 2, 3)])
def test_regression_matches_sklearn(shape):
    rng = np.random.default_rng(len(shape))
    y = rng.normal(size=shape) * np.arange(1, shape[-1] + 1)
    pred = y + rng.normal(scale=0.5, size=shape)
    got = regression_metrics(y, pred)
    flat_y, flat_pred = y.reshape(len(y), -1), pred.reshape(len(pred), -1)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(flat_y, flat_pred))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(flat_y, flat_pred))
    assert got["r2"] == pytest.approx(skm.r2_score(flat_y, flat_pred))


def test_regression_constant_column_and_shape_alignment():
    y = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    exact = regression_metrics(y, y)
    assert exact == {"mse": 0.0, "mae": 0.0, "r2": 1.0}
    off = y + np.array([0.5, 0.0])
    assert regression_metrics(y, off)["r2"] == pytest.approx(skm.r2_score(y, off))  # (0 + 1) / 2
    column = np.array([1.0, 2.0, 4.0])
    assert regression_metrics(column, column[:, None] + 1)["mse"] == 1.0  # (N,) vs (N, 1)
    with pytest.raises(ValueError, match="differ in size"):
        regression_metrics(column, np.zeros(4))


def test_compute_metrics_undoes_target_scaling():
    rng = np.random.default_rng(3)
    means, stds = [10.0, -2.0], [4.0, 0.5]
    y = rng.normal(size=(30, 2))
    out = y + rng.normal(scale=0.1, size=(30, 2))
    got = compute_metrics("regression", torch.tensor(y), torch.tensor(out),
                          target_scale=(means, stds))
    y_units, out_units = y * stds + means, out * stds + means
    assert got["mse"] == pytest.approx(skm.mean_squared_error(y_units, out_units))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y_units, out_units))
    assert got["r2"] == pytest.approx(skm.r2_score(y_units, out_units))
    # one scale for a univariate forecast horizon broadcasts over every step
    horizon = compute_metrics("forecasting", y, out, target_scale=([5.0], [2.0]))
    assert horizon["mse"] == pytest.approx(4 * np.mean((y - out) ** 2))
    with pytest.raises(ValueError, match="target_scale of 3 columns"):
        compute_metrics("regression", y, out, target_scale=([0.0] * 3, [1.0] * 3))


def test_compute_metrics_classification_and_unknown_task():
    assert compute_metrics("classification", [1, 0], np.array([[0, 1.0], [1.0, 0]]))["f1"] == 1.0
    with pytest.raises(UserInputError, match="unknown task 'ranking'"):
        compute_metrics("ranking", [1.0], [1.0])


def test_metric_names_and_modes():
    assert metrics_for_task("classification") == ["loss", "accuracy", "precision", "recall", "f1"]
    assert metrics_for_task("forecasting") == ["loss", "mse", "mae", "r2"]
    assert [metric_mode(m) for m in ("loss", "mse", "mae")] == ["min"] * 3
    assert [metric_mode(m) for m in ("accuracy", "precision", "recall", "f1", "r2")] == ["max"] * 5
    with pytest.raises(UserInputError, match="unknown metric 'auc'"):
        metric_mode("auc")


def test_parse_monitor():
    assert parse_monitor("val.accuracy") == ("val", "accuracy")
    assert parse_monitor("train.loss", "regression") == ("train", "loss")
    with pytest.raises(UserInputError, match=r"train.monitor .* classification task: loss, "
                                             r"accuracy, precision, recall, f1; got 'val.r2'"):
        parse_monitor("val.r2", "classification")
    for bad in ("accuracy", "test.accuracy", "val."):
        with pytest.raises(UserInputError, match="SPLIT.METRIC"):
            parse_monitor(bad, field="train.early_stopping.monitor")
