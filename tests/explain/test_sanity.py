"""The sanity checks can fail: each is shown failing on an explanation that means nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from honed.explain.sanity import (
    completeness_check,
    randomization_check,
    randomized_copy,
    rank_correlation,
    topk_recovery,
)
from tests.helpers import tiny_net


def test_topk_recovery_counts_the_known_features_among_the_first_k():
    assert topk_recovery(["a", "b", "c"], ["b", "a"]) == 1.0
    assert topk_recovery(["a", "c", "b"], ["a", "b"]) == 0.5


def test_an_explanation_that_ignores_the_model_fails_randomization():
    model, x = tiny_net(), np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    # the input itself, an "edge detector" (Adebayo et al.): the same for any weights
    result = randomization_check(lambda net, inputs: inputs, model, x, spread=1.0)
    assert result["rank_correlation"] > 0.99 and not result["passed"]


def test_gradients_pass_randomization():
    model, x = tiny_net(), np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)

    def gradient(net, inputs):
        tensor = torch.as_tensor(inputs).requires_grad_()
        net.eval()
        net(tensor)[:, 0].sum().backward()
        return tensor.grad.numpy()

    result = randomization_check(gradient, model, x, spread=1.0)
    assert result["passed"] and result["self_agreement"] > 0.9


def test_randomized_copy_changes_every_layer_and_leaves_the_model_alone():
    model = tiny_net()
    before = [p.detach().clone() for p in model.parameters()]
    twin = randomized_copy(model, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not any(torch.equal(a, b) for a, b in zip(before, twin.parameters(), strict=True))


def test_completeness_fails_for_attributions_that_do_not_add_up():
    model, x = tiny_net(), np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    baseline, targets = np.zeros(6, dtype=np.float32), np.zeros(4, dtype=np.int64)
    with torch.no_grad():
        difference = (model.eval()(torch.as_tensor(x))[:, 0] -
                      model(torch.as_tensor(baseline[None]))[0, 0]).numpy()
    exact = np.zeros_like(x)
    exact[:, 0] = difference  # sums to f(x) - f(baseline) exactly
    assert completeness_check(model, x, exact, baseline, targets)["passed"]
    assert not completeness_check(model, x, exact * 1.5, baseline, targets)["passed"]


def test_rank_correlation_of_texts_leaves_their_padding_out():
    rng = np.random.default_rng(0)
    trained, randomized = np.zeros((4, 40)), np.zeros((4, 40))
    # scores of one sign (a model pushing its prediction): zeros rank below them all
    trained[:, :5], randomized[:, :5] = rng.uniform(1, 2, (4, 5)), rng.uniform(1, 2, (4, 5))
    keep = np.zeros((4, 40), dtype=bool)
    keep[:, :5] = True
    # 35 padding zeros in both would agree for any model: only the 5 tokens are compared
    assert rank_correlation(trained, randomized) > 0.5
    assert abs(rank_correlation(trained, randomized, keep)) < 0.5
    assert rank_correlation(trained, trained, keep) == pytest.approx(1.0)
