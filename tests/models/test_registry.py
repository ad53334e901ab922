"""The registry: lookups, knob validation, user families by decorator, callable or import path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import honed.models
from honed.errors import ModelError, UserInputError
from honed.models import ModelInfo, create_model, list_models, model_info, register_model

FAMILIES = ["cnn", "embedbag", "gru", "lstm", "mlp", "resnet", "rnn", "transformer"]


def test_all_names_resolve() -> None:
    for name in honed.models.__all__:
        assert getattr(honed.models, name) is not None


def test_list_models_describes_every_family() -> None:
    infos = list_models()
    assert [info.name for info in infos] == FAMILIES
    for info in infos:
        assert isinstance(info, ModelInfo)
        assert info.description and "\n" not in info.description
        assert set(info.tasks) == {"classification", "regression", "forecasting"}
        assert tuple(info.defaults) == info.knobs
        assert "init" in info.knobs and info.defaults["init"] == "default"


def test_model_info_is_a_copy() -> None:
    model_info("cnn").defaults["channels"] = (1,)
    assert model_info("cnn").defaults["channels"] == (32, 64)


def test_unknown_family_lists_valid_names() -> None:
    with pytest.raises(ModelError, match="unknown model family 'mpl'.*did you mean 'mlp'") as err:
        create_model("mpl", input_shape=(4,), num_outputs=2)
    assert all(name in str(err.value) for name in FAMILIES)
    assert isinstance(err.value, UserInputError)
    with pytest.raises(ModelError, match="unknown model family"):
        model_info("nope")


def test_unknown_knob_is_named_with_the_family_knobs() -> None:
    with pytest.raises(ModelError, match=r"'rnn' takes no knob 'activation'; its knobs are "
                                         r"hidden, depth, dropout, bidirectional, init"):
        create_model("rnn", input_shape=(5, 2), num_outputs=2, activation="relu")


def test_unserved_kind_and_bad_shapes() -> None:
    with pytest.raises(ModelError, match=r"'cnn' cannot take table input .*use one of .*mlp"):
        create_model("cnn", input_shape=(6,), num_outputs=2)
    with pytest.raises(ModelError, match="input_shape must be"):
        create_model("mlp", input_shape=(1, 2, 3, 4), num_outputs=2)
    with pytest.raises(ModelError, match="integers >= 1"):
        create_model("mlp", input_shape=(0,), num_outputs=2)
    with pytest.raises(ModelError, match="num_outputs must be an integer >= 1; got 0"):
        create_model("mlp", input_shape=(3,), num_outputs=0)
    with pytest.raises(ModelError, match="task must be one of"):
        create_model("mlp", input_shape=(3,), num_outputs=2, task="ranking")


@pytest.mark.parametrize(("family", "knobs", "message"), [
    ("mlp", {"hidden": 0}, "hidden must be an integer >= 1; got 0"),
    ("mlp", {"depth": True}, "depth must be an integer >= 1; got True"),
    ("mlp", {"dropout": 1.0}, r"dropout must be a number in \[0, 1\); got 1.0"),
    ("mlp", {"activation": "swish"}, "activation must be one of relu, leaky_relu, gelu"),
    ("mlp", {"init": "lecun"}, "init must be one of default, xavier_uniform"),
    ("mlp", {"norm": "group"}, "norm must be one of none, batch, layer"),
    ("cnn", {"channels": []}, "channels must be a non-empty list"),
    ("cnn", {"channels": [8, -1]}, r"channels\[1\] must be an integer >= 1"),
    ("resnet", {"kernel_size": 4}, "kernel_size must be odd for resnet"),
    ("lstm", {"bidirectional": "yes"}, "bidirectional must be true or false"),
    ("transformer", {"hidden": 30, "heads": 4}, "hidden must be divisible by heads"),
])
def test_bad_knob_values_name_knob_rule_and_value(family: str, knobs: dict, message: str) -> None:
    shape = (2, 8, 8) if family in ("cnn", "resnet") else (5, 3)
    with pytest.raises(ModelError, match=f"model family '{family}': {message}") as err:
        create_model(family, input_shape=shape, num_outputs=2, **knobs)
    assert "\n" not in str(err.value)


def test_none_knobs_take_the_default() -> None:
    model = create_model("mlp", input_shape=(4,), num_outputs=2, hidden=None, depth=1)
    assert model.head.in_features == model_info("mlp").defaults["hidden"]


def test_register_model_reads_defaults_and_checks_kinds(clean_registry: None) -> None:
    @register_model("tiny", description="One linear layer.", kinds=["table"])
    def tiny(input_shape, num_outputs, *, task="classification", bias=True):
        return nn.Linear(input_shape[0], num_outputs, bias=bias)

    info = model_info("tiny")
    assert info.knobs == ("bias",) and info.defaults == {"bias": True}
    assert info.kinds == ("table",)
    assert "tiny" in [i.name for i in list_models()]
    assert create_model("tiny", input_shape=(3,), num_outputs=2, bias=False).bias is None
    with pytest.raises(ModelError, match="cannot take image input"):
        create_model("tiny", input_shape=(1, 4, 4), num_outputs=2)
    # Re-running the same definition replaces it; another factory under the name is refused.
    register_model("tiny", description="Again.", kinds=["table"])(tiny)

    def other(input_shape, num_outputs, *, task="classification"):
        return nn.Identity()

    with pytest.raises(ModelError, match="already registered"):
        register_model("tiny", description="Clash.")(other)


def test_register_model_rejects_bad_entries(clean_registry: None) -> None:
    def factory(input_shape, num_outputs, *, task="classification", width=4):
        return nn.Linear(input_shape[0], num_outputs)

    with pytest.raises(ModelError, match="lists knob 'depth'"):
        register_model("bad", description="x", knobs=["depth"])(factory)
    with pytest.raises(ModelError, match="kind must be one of"):
        register_model("bad", description="x", kinds=["graph"])
    with pytest.raises(ModelError, match="one-line description"):
        register_model("bad", description="two\nlines")
    with pytest.raises(ModelError, match="without ':'"):
        register_model("pkg:bad", description="x")


def test_factory_must_return_a_module(clean_registry: None) -> None:
    register_model("broken", description="Returns a string.")(
        lambda input_shape, num_outputs, *, task="classification": "oops")
    with pytest.raises(ModelError, match="returned str, not a torch nn.Module"):
        create_model("broken", input_shape=(3,), num_outputs=2)


def test_callable_family_gets_keywords() -> None:
    seen = {}

    def mine(*, input_shape, num_outputs, task, width):
        seen.update(input_shape=input_shape, task=task)
        return nn.Linear(input_shape[0], num_outputs)

    model = create_model(mine, input_shape=[3], num_outputs=2, task="regression", width=5)
    assert model(torch.zeros(1, 3)).shape == (1, 2)
    assert seen == {"input_shape": (3,), "task": "regression"}
    with pytest.raises(ModelError, match="cannot be called as fn"):
        create_model(mine, input_shape=(3,), num_outputs=2, depth=1)


def test_import_path_family(user_module: str) -> None:
    model = create_model(f"{user_module}:build", input_shape=(2, 3), num_outputs=4, hidden=5)
    assert model(torch.zeros(2, 2, 3)).shape == (2, 4)
    with pytest.raises(ModelError, match="would import Python module 'no_such_pkg_x'"):
        create_model("no_such_pkg_x:build", input_shape=(3,), num_outputs=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HONED_ALLOW_IMPORT", "1")
        with pytest.raises(ModelError, match="cannot import model factory 'no_such_pkg_x:build': "
                                             "ModuleNotFoundError"):
            create_model("no_such_pkg_x:build", input_shape=(3,), num_outputs=2)
    with pytest.raises(ModelError, match="AttributeError"):
        create_model(f"{user_module}:missing", input_shape=(3,), num_outputs=2)
    with pytest.raises(ModelError, match="is a int, not callable"):
        create_model(f"{user_module}:NOT_CALLABLE", input_shape=(3,), num_outputs=2)
    with pytest.raises(ModelError, match="must be a name"):
        create_model(3, input_shape=(3,), num_outputs=2)


SIDE_EFFECT = '''
from pathlib import Path

from torch import nn

Path(__file__).with_name("imported.txt").write_text("the module ran")


def build(input_shape, num_outputs, *, task="classification"):
    return nn.Linear(input_shape[0], num_outputs)
'''


def test_an_import_path_imports_only_when_allowed(tmp_path, monkeypatch) -> None:
    import sys

    (tmp_path / "side_effect_models.py").write_text(SIDE_EFFECT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("HONED_ALLOW_IMPORT", raising=False)
    for setting in (None, "other_pkg", "side_effect"):  # a prefix is not its module
        if setting:
            monkeypatch.setenv("HONED_ALLOW_IMPORT", setting)
        with pytest.raises(ModelError, match="model factory 'side_effect_models:build' would "
                           "import Python module 'side_effect_models' and run its code, .*"
                           "set HONED_ALLOW_IMPORT=side_effect_models, or pass --allow-import"):
            create_model("side_effect_models:build", input_shape=(3,), num_outputs=2)
        assert not (tmp_path / "imported.txt").exists()
        assert "side_effect_models" not in sys.modules
    try:
        for setting in ("side_effect_models", "1"):
            monkeypatch.setenv("HONED_ALLOW_IMPORT", setting)
            model = create_model("side_effect_models:build", input_shape=(3,), num_outputs=2)
            assert isinstance(model, nn.Linear) and (tmp_path / "imported.txt").exists()
    finally:
        sys.modules.pop("side_effect_models", None)


def test_callables_and_registered_families_need_no_permission(monkeypatch, user_module) -> None:
    from importlib import import_module

    from honed.models.registry import family_reference

    build = import_module(user_module).build
    monkeypatch.delenv("HONED_ALLOW_IMPORT")
    assert isinstance(create_model(build, input_shape=(3,), num_outputs=2), nn.Module)
    assert family_reference(build) == f"{user_module}:build"  # found loaded, not imported
    assert isinstance(create_model("mlp", input_shape=(3,), num_outputs=2), nn.Module)
