"""The pip command that installs one of honed's optional extras (``serve``, ``postgres``, ...).

honed is not published on PyPI, so ``pip install "honed[serve]"`` would fetch whatever someone
else registered under that name. A source checkout (the usual install, ``pip install -e .``)
gets a command that installs the extra from that checkout, by its absolute path so that it
works from any folder; an installed wheel gets the extra's own requirements, bounds included.
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata
from pathlib import Path

__all__ = ["install_hint", "source_root"]

_NAME = re.compile(r'^name\s*=\s*"honed"\s*$', re.MULTILINE)


def source_root() -> Path | None:
    """The checkout honed is imported from (its ``pyproject.toml`` names honed), or ``None``."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    try:
        return root if _NAME.search(pyproject.read_text(encoding="utf-8")) else None
    except OSError:
        return None


def _extra_requirements(extra: str) -> list[str]:
    """The requirements an installed honed distribution lists for ``extra``, without markers."""
    try:
        requires = metadata.requires("honed") or []
    except metadata.PackageNotFoundError:
        return []
    wanted = re.compile(r"""extra\s*==\s*["']""" + re.escape(extra) + r"""["']""")
    return [req.split(";")[0].strip() for req in requires if wanted.search(req)]


def install_hint(extra: str) -> str:
    """A pip command that installs ``extra``, to paste into a shell as it is.

    Example:
        >>> install_hint("serve")  # doctest: +SKIP
        "pip install -e '/home/me/honed[serve]'"
    """
    root = source_root()
    if root is not None:
        return "pip install -e " + shlex.quote(f"{root}[{extra}]")
    requirements = _extra_requirements(extra)
    if requirements:
        return "pip install " + " ".join(shlex.quote(req) for req in requirements)
    return f"pip install -e '.[{extra}]' in a clone of honed"
