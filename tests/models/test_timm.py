"""``model.family: timm:NAME`` is refused in one line: timm cannot import without torchvision,
and PyPI's torchvision (a CUDA build) cannot import beside honed's CPU torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from honed.errors import ModelError, SpecError
from honed.models import create_model
from honed.spec import spec_from_dict

IRIS = {"name": "t", "data": {"source": "builtin:iris"}, "model": {"family": "mlp"}}
WHY = "timm backbones are not supported: timm needs torchvision"


@pytest.mark.parametrize("allow", [None, "1", "timm"])
def test_a_timm_family_is_refused_whatever_imports_are_allowed(monkeypatch, allow):
    monkeypatch.delenv("HONED_ALLOW_IMPORT", raising=False)
    if allow:
        monkeypatch.setenv("HONED_ALLOW_IMPORT", allow)
    with pytest.raises(SpecError) as error:
        spec_from_dict(IRIS, overrides=["model.family=timm:resnet18",
                                        "compress.distill.student.family=TIMM:test_vit"])
    assert error.value.errors == [
        f"model.family: 'timm:resnet18': {WHY}, whose PyPI build is for CUDA and fails to "
        "import beside honed's CPU torch; use family resnet or cnn, or a factory of your own "
        "('package.module:function')",
        f"compress.distill.student.family: 'TIMM:test_vit': {WHY}, whose PyPI build is for "
        "CUDA and fails to import beside honed's CPU torch; use family resnet or cnn, or a "
        "factory of your own ('package.module:function')"]
    with pytest.raises(ModelError, match=f"'timm:efficientnet_b0': {WHY}"):
        create_model("timm:efficientnet_b0", input_shape=(3, 8, 8), num_outputs=2)
    assert "timm" not in sys.modules  # refused before any import was tried


def test_the_command_line_says_it_in_one_line_and_writes_nothing(tmp_path):
    spec = tmp_path / "t.yaml"
    spec.write_text("name: t\ndata: {source: builtin:digits}\n"
                    "model: {family: 'timm:resnet18'}\ntrain: {epochs: 1}\n")
    done = subprocess.run([sys.executable, "-m", "honed.cli.main", "train", str(spec),
                           "--allow-import", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and WHY in done.stderr
    assert not (tmp_path / "run").exists()
