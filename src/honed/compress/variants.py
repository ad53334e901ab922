"""Reading ``DIR/compress/``: the variants ``honed compress`` kept, by name.

Layout (written by :func:`honed.compress.run.compress_run`)::

    DIR/compress/compress.json     the table: baseline, every variant, the chosen one
    DIR/compress/NAME/model/       kind torch: loadable with honed.models.load_model
    DIR/compress/NAME/model.onnx   kind onnx (with model.json and preprocess.json beside it)
    DIR/compress/NAME/metrics.json val and test metrics of the variant, its drops

Version 2 of compress.json reads each row's ``drop`` (and ``se``, ``within_budget``) on the
validation split, which decides the choice, and keeps the test split's in ``test_drop``; version 1
read them on test. Both versions load here; only the report shows which split a table chose on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from honed.errors import UserInputError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Variant", "load_variant", "list_variants", "read_compress_json", "FORMAT",
           "VERSION", "COMPRESS_DIR", "COMPRESS_FILE"]

FORMAT = "honed.compress"
#: 2: rows hold ``val`` and ``test`` metrics, ``drop``/``se``/``within_budget`` on val (the
#: choice), ``test_drop`` for the record; 1: ``drop`` and ``within_budget`` were on test
VERSION = 2
COMPRESS_DIR = "compress"
COMPRESS_FILE = "compress.json"


@dataclass
class Variant:
    """One kept variant.

    Attributes:
        name: its name in compress.json.
        kind: ``torch`` (a PyTorch model folder) or ``onnx`` (an int8 or other ONNX file).
        folder: ``DIR/compress/NAME``.
        record: its compress.json row.
        module: the loaded PyTorch model (kind torch), in eval mode; None for onnx.
        onnx_path: ``NAME/model.onnx`` (kind onnx); None for torch.
    """

    name: str
    kind: str
    folder: Path
    record: dict[str, Any]
    module: nn.Module | None = None
    onnx_path: Path | None = None

    @property
    def model_folder(self) -> Path:
        """The folder holding model.json and preprocess.json for this variant."""
        return self.folder / "model" if self.kind == "torch" else self.folder


def read_compress_json(run_dir: str | Path) -> dict[str, Any]:
    """``DIR/compress/compress.json``, checked; a one-line error when missing or not ours."""
    path = Path(run_dir) / COMPRESS_DIR / COMPRESS_FILE
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{run_dir} has no compressed variants ({path} is missing); run "
                             f"honed compress {run_dir} first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"cannot read {path}: {exc}") from None
    if not isinstance(table, dict) or table.get("format") != FORMAT:
        raise UserInputError(f"{path} is not a honed compress.json (format {FORMAT!r})")
    version = table.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise UserInputError(f"{path} has version {version!r}; this honed reads versions 1 to "
                             f"{VERSION}: run honed compress {run_dir} again")
    return table


def list_variants(run_dir: str | Path) -> list[str]:
    """Names of the kept variants of a run, in table order."""
    table = read_compress_json(run_dir)
    return [row["name"] for row in table.get("variants", []) if row.get("kept")]


def load_variant(run_dir: str | Path, name: str, *, load: bool = True) -> Variant:
    """The kept variant ``name`` of a run; ``load=False`` skips loading the PyTorch module.

    Raises:
        UserInputError: no compress.json, or ``name`` is not a kept variant (the message lists
            the valid names).
    """
    table = read_compress_json(run_dir)
    rows = {row["name"]: row for row in table.get("variants", []) if row.get("kept")}
    if name not in rows:
        valid = ", ".join(rows) or "none"
        raise UserInputError(f"unknown variant {name!r} in {run_dir}; valid names: {valid}")
    row = rows[name]
    folder = Path(run_dir) / COMPRESS_DIR / name
    if row["kind"] == "onnx":
        path = folder / "model.onnx"
        if not path.is_file():
            raise UserInputError(f"variant {name!r} is listed but {path} is missing")
        return Variant(name, "onnx", folder, row, onnx_path=path)
    module = None
    if load:
        from honed.models import load_model

        module = load_model(folder / "model")
    return Variant(name, "torch", folder, row, module=module)
