"""Which Python modules a spec may import: none, unless the user says so.

A spec (or a run dir's ``model.json``) can name a model factory as ``"package.module:function"``.
Importing it runs that module's code, so a spec handed over by someone else would be a program.
honed imports such a module only when the user allowed it:

- ``--allow-import`` on the commands that read a spec (any module);
- ``HONED_ALLOW_IMPORT=1`` (any module) or ``HONED_ALLOW_IMPORT=pkg,other.mod`` (those modules
  and their submodules only), which the processes honed starts (workers) inherit;
- :func:`allow_import` from Python, which sets that variable.

Families registered with ``register_model`` and factories passed as callables need none of this.

``timm:NAME`` is refused whatever is allowed: timm imports torchvision at import time, and the
only torchvision on PyPI for x86-64 Linux is a CUDA build that fails to import beside the CPU
build of torch honed installs ("operator torchvision::nms does not exist"). timm 1.0.31 was
tried without torchvision (``pip install --no-deps``): ``import timm`` fails in
``timm/layers/create_norm.py`` (``torchvision.ops.misc``), and ``timm.models`` needs
``timm.data``, which needs ``torchvision.transforms``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["IMPORT_ENV", "TIMM_PREFIX", "allow_import", "import_allowed", "import_refusal",
           "checked_family"]

#: the environment variable that allows imports: ``1`` for any module, or module names
IMPORT_ENV = "HONED_ALLOW_IMPORT"
_ANY = ("1", "true", "yes", "all", "*")
#: the family prefix of timm backbones, which honed refuses (see the module docstring)
TIMM_PREFIX = "timm:"


def allow_import(*modules: str) -> None:
    """Let specs import ``modules`` (and their submodules), or any module when none are named.

    Sets :data:`IMPORT_ENV` for this process and the processes it starts (search workers).

    Example:
        >>> allow_import("my_models")  # a spec may now say model.family: "my_models.cnn:build"
    """
    os.environ[IMPORT_ENV] = ",".join(modules) if modules else "1"


def import_allowed(module: str) -> bool:
    """Whether :data:`IMPORT_ENV` allows importing ``module``."""
    setting = os.environ.get(IMPORT_ENV, "").strip()
    if setting.lower() in _ANY:
        return True
    allowed = [name.strip() for name in setting.split(",") if name.strip()]
    return any(module == name or module.startswith(name + ".") for name in allowed)


def import_refusal(reference: str) -> str | None:
    """Why ``"module:attr"`` may not be imported (one line), or None when it may."""
    if reference.strip().lower().startswith(TIMM_PREFIX):
        return (f"{reference!r}: timm backbones are not supported: timm needs torchvision, "
                "whose PyPI build is for CUDA and fails to import beside honed's CPU torch; "
                "use family resnet or cnn, or a factory of your own ('package.module:function')")
    module = reference.partition(":")[0].strip()
    if import_allowed(module):
        return None
    return (f"{reference!r} would import Python module {module!r} and run its code, which "
            f"honed does only when allowed: set {IMPORT_ENV}={module}, or pass --allow-import "
            "to a command that reads a spec")


def checked_family(value: Any) -> Any:
    """Pydantic hook for ``model.family``: refuse an import path that is not allowed."""
    if isinstance(value, str) and ":" in value:
        reason = import_refusal(value)
        if reason:
            raise ValueError(reason)
    return value
