"""Random resized crop, colour jitter, random erasing and CutMix: batched, seeded, each one
checked for shape, range, identity at strength 0, change above it, and determinism."""

from __future__ import annotations

import pytest
import torch

from honed.data import make_augment
from honed.data.color import ColorJitter
from honed.data.crop import RandomResizedCrop
from honed.data.cutmix import CutMix
from honed.data.erase import RandomErasing
from honed.errors import DataError
from honed.spec.schema import AugmentSpec

SCALER = {"method": "standard", "center": [0.5, 0.4, 0.3], "scale": [0.2, 0.25, 0.3]}


def photos(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled RGB inputs of 12x10 pixel images in [0, 1]: smooth, different per sample."""
    rows = torch.linspace(0, 1, 12).view(1, 1, 12, 1)
    cols = torch.linspace(0, 1, 10).view(1, 1, 1, 10)
    level = torch.linspace(0.2, 0.8, n).view(n, 1, 1, 1)
    pixels = torch.cat([(rows * level).expand(n, 1, 12, 10),
                        (cols * (1 - level)).expand(n, 1, 12, 10),
                        (rows + cols) / 2 * level], dim=1)
    center = torch.tensor(SCALER["center"]).view(1, 3, 1, 1)
    scale = torch.tensor(SCALER["scale"]).view(1, 3, 1, 1)
    return (pixels - center) / scale, torch.arange(n) % 3


def run(step, x, y, seed=0):
    return step(x.clone(), y.clone(), torch.Generator().manual_seed(seed))


STEPS = {
    "crop": lambda s: RandomResizedCrop(s),
    "brightness": lambda s: ColorJitter(brightness=s, scaler=SCALER),
    "contrast": lambda s: ColorJitter(contrast=s, scaler=SCALER),
    "saturation": lambda s: ColorJitter(saturation=s, scaler=SCALER),
    "erase": lambda s: RandomErasing(s),
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_identity_at_strength_zero(name):
    x, y = photos()
    out, out_y = run(STEPS[name](0.0), x, y)
    assert out.shape == x.shape and out.dtype == x.dtype and torch.equal(out_y, y)
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_changes_and_repeats_under_a_seed(name):
    x, y = photos()
    step = STEPS[name](0.5 if name != "erase" else 1.0)
    out, _ = run(step, x, y)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, x, atol=1e-3)
    assert torch.equal(out, run(step, x, y)[0])  # same seed, same batch
    assert not torch.equal(out, run(step, x, y, seed=1)[0])


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation"])
def test_jitter_stays_within_the_pixel_range(name):
    x, y = photos()
    out, _ = run(STEPS[name](1.0), x, y)
    center = torch.tensor(SCALER["center"]).view(1, 3, 1, 1)
    scale = torch.tensor(SCALER["scale"]).view(1, 3, 1, 1)
    pixels, before = out * scale + center, x * scale + center
    assert pixels.min() >= before.min() - 1e-5 and pixels.max() <= before.max() + 1e-5


def test_brightness_keeps_black_black_and_saturation_keeps_grey_grey():
    black = torch.zeros(4, 3, 6, 6)
    out, _ = run(ColorJitter(brightness=0.9), black, torch.zeros(4))
    assert torch.equal(out, black)  # without a scaler, inputs are pixels
    grey = torch.rand(4, 1, 6, 6).expand(4, 3, 6, 6).contiguous()
    out, _ = run(ColorJitter(saturation=0.9), grey, torch.zeros(4))
    torch.testing.assert_close(out, grey)
    one_channel = torch.rand(4, 1, 6, 6)
    out, _ = run(ColorJitter(saturation=0.9), one_channel, torch.zeros(4))
    torch.testing.assert_close(out, one_channel)


def test_crop_stays_inside_the_image_and_enlarges_content():
    x = torch.zeros(16, 1, 20, 20)
    x[:, :, 8:12, 8:12] = 1.0  # a small square in the middle
    out, _ = run(RandomResizedCrop(0.9), x, torch.zeros(16))
    assert out.min() >= 0 and out.max() <= 1  # bilinear within the image's own values
    assert (out.sum((1, 2, 3)) >= x.sum((1, 2, 3)) - 1e-4).all()  # never shrinks content


def test_erasing_blanks_one_box_with_the_scaled_mean():
    x = torch.full((32, 2, 16, 16), 3.0)
    out, _ = run(RandomErasing(1.0), x, torch.zeros(32))
    blank = (out == 0).all(dim=1)  # every channel of a pixel together
    share = blank.flatten(1).float().mean(1)
    assert ((share >= 0.005) & (share <= 0.4)).all()
    rows, cols = blank.any(2), blank.any(1)  # a box: its pixels fill the rows x cols span
    assert torch.equal(blank.sum((1, 2)), rows.sum(1) * cols.sum(1))
    erased = run(RandomErasing(0.5), x, torch.zeros(32))[0].eq(0).flatten(1).any(1)
    assert 0 < int(erased.sum()) < 32  # p is a probability per image


def test_cutmix_pastes_a_box_and_mixes_targets_by_area():
    n = 8
    x = torch.arange(float(n)).view(n, 1, 1, 1).expand(n, 1, 10, 10).contiguous()
    y = torch.arange(n) % 4
    step = CutMix(1.0, num_classes=4)
    out, soft = run(step, x, y)
    assert out.shape == x.shape and soft.shape == (n, 4)
    torch.testing.assert_close(soft.sum(1), torch.ones(n))
    own = (out == x).flatten(1).float().mean(1)  # the share of each image still its own
    assert (own < 1).any()
    # each image's own class keeps at least the share of its own pixels
    assert (soft[torch.arange(n), y] >= own - 1e-6).all()
    again = run(step, x, y)
    assert torch.equal(out, again[0]) and torch.equal(soft, again[1])
    assert not torch.equal(out, run(step, x, y, seed=3)[0])
    regression = CutMix(1.0)
    _, mixed = run(regression, x, torch.arange(float(n)).view(n, 1))
    assert mixed.shape == (n, 1) and mixed.dtype == torch.float32


def test_make_augment_builds_every_new_option_in_order():
    spec = AugmentSpec(crop=0.3, brightness=0.2, contrast=0.2, saturation=0.2, erase=0.25,
                       cutmix=1.0)
    augment = make_augment(spec, kind="image", task="classification", num_classes=3,
                           scaler=SCALER)
    assert [type(s).__name__ for s in augment.steps] == [
        "RandomResizedCrop", "ColorJitter", "RandomErasing", "CutMix"]
    assert augment.soft_targets
    x, y = photos()
    out, soft = augment(x, y, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and soft.shape == (8, 3)
    for name in ("crop", "brightness", "erase", "cutmix"):
        with pytest.raises(DataError, match=f"data.augment.{name} applies to images only"):
            make_augment(AugmentSpec(**{name: 0.5}), kind="table", task="classification",
                         num_classes=2)
    with pytest.raises(ValueError, match="cutmix on a classification task needs num_classes"):
        make_augment(AugmentSpec(cutmix=0.5), kind="image", task="classification")


def test_new_options_are_searchable():
    from honed.spec.template import spec_from_dict

    template = spec_from_dict({"data": {"source": "builtin:digits", "augment": {
        "crop": {"float": [0.0, 0.5]}, "erase": {"float": [0.0, 0.5]},
        "brightness": {"float": [0.0, 0.4]}, "cutmix": {"float": [0.0, 1.0]}}},
        "model": {"family": "mlp"}})
    assert sorted(d.name for d in template.dimensions) == [
        "data.augment.brightness", "data.augment.crop", "data.augment.cutmix",
        "data.augment.erase"]
