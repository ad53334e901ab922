"""Batch augmentation: shapes kept, every draw from the given generator."""

from __future__ import annotations

import pytest
import torch

from honed.data import make_augment
from honed.errors import DataError
from honed.spec.schema import AugmentSpec


def letter_f(n: int = 4) -> torch.Tensor:
    """An 'F': no rotation, flip or shift leaves it unchanged."""
    x = torch.zeros(n, 1, 12, 10)
    x[:, :, 2:10, 3] = 1.0
    x[:, :, 2, 3:8] = 1.0
    x[:, :, 5, 3:6] = 1.0
    return x


def run(augment, x, y, seed=0):
    return augment(x.clone(), y.clone(), torch.Generator().manual_seed(seed))


def test_everything_off_is_none():
    assert make_augment(AugmentSpec(), kind="image", task="classification") is None


@pytest.mark.parametrize("option", [{"rotate": 30.0}, {"shift": 0.2}, {"zoom": 0.3},
                                    {"shear": 20.0}, {"flip": True}, {"noise": 0.1},
                                    {"mixup": 0.4}])
def test_image_augmentations(option):
    augment = make_augment(AugmentSpec(**option), kind="image", task="classification",
                           num_classes=3)
    x = letter_f(8) * torch.arange(1.0, 9.0).view(8, 1, 1, 1)  # samples differ, for mixup
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    out_x, out_y = run(augment, x, y)
    assert out_x.shape == x.shape and out_x.dtype == x.dtype
    again_x, again_y = run(augment, x, y)
    assert torch.equal(out_x, again_x) and torch.equal(out_y, again_y)
    other_x, _ = run(augment, x, y, seed=1)
    assert not torch.equal(out_x, other_x)  # the seed matters
    assert not torch.equal(out_x, x)  # and it does change the images


def test_rotation_changes_an_asymmetric_image_and_keeps_mass():
    augment = make_augment(AugmentSpec(rotate=90.0), kind="image", task="classification")
    x = letter_f(16)
    out, _ = run(augment, x, torch.zeros(16, dtype=torch.long))
    changed = (out - x).abs().flatten(1).sum(1)
    assert (changed > 1.0).sum() >= 14  # almost every sample moved
    assert torch.allclose(out.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=0.35)


def test_randomness_comes_only_from_the_generator():
    augment = make_augment(AugmentSpec(rotate=15.0, shift=0.1, flip=True, noise=0.05,
                                       mixup=0.2), kind="image", task="classification",
                           num_classes=2)
    x, y = letter_f(6), torch.tensor([0, 1] * 3)
    torch.manual_seed(123)
    first = run(augment, x, y, seed=9)
    torch.manual_seed(456)  # global state differs: results must not
    second = run(augment, x, y, seed=9)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    # the generator advances, so a second batch is augmented differently
    generator = torch.Generator().manual_seed(9)
    a, _ = augment(x, y, generator)
    b, _ = augment(x, y, generator)
    assert not torch.equal(a, b)


def test_mixup_soft_labels_sum_to_one():
    augment = make_augment(AugmentSpec(mixup=1.0), kind="table", task="classification",
                           num_classes=4)
    assert augment.soft_targets
    x, y = torch.randn(32, 5), torch.randint(0, 4, (32,))
    out_x, out_y = run(augment, x, y)
    assert out_x.shape == x.shape and out_y.shape == (32, 4) and out_y.dtype == torch.float32
    assert torch.allclose(out_y.sum(1), torch.ones(32))
    assert (out_y.max(1).values < 1).any()  # really mixed


def test_mixup_regression_mixes_linearly():
    augment = make_augment(AugmentSpec(mixup=0.5), kind="sequence", task="regression")
    x = torch.arange(8.0).view(8, 1, 1).expand(8, 3, 1).contiguous()
    y = torch.arange(8.0).view(8, 1)
    out_x, out_y = run(augment, x, y)
    assert out_y.shape == (8, 1)
    # inputs and targets mixed with the same weights and partners
    assert torch.allclose(out_x[:, 0, 0], out_y[:, 0])


def test_noise_on_tables_and_sequences():
    for kind, shape in (("table", (16, 5)), ("sequence", (16, 20, 2))):
        augment = make_augment(AugmentSpec(noise=0.5), kind=kind, task="regression")
        x = torch.zeros(shape)
        out, _ = run(augment, x, torch.zeros(16, 1))
        assert out.shape == x.shape and 0.3 < float(out.std()) < 0.7


def test_image_options_refused_for_other_kinds():
    with pytest.raises(DataError, match="data.augment.rotate applies to images only"):
        make_augment(AugmentSpec(rotate=10.0), kind="table", task="classification")
    with pytest.raises(ValueError, match="needs num_classes"):
        make_augment(AugmentSpec(mixup=0.2), kind="table", task="classification")
