"""Reading a bundle back, torch-free: ``read_bundle(folder) -> Bundle``.

A bundle is ``model.onnx``, ``preprocess.json`` and ``card.json`` (and ``tokenizer.json`` for a
text model, whose ``model.onnx`` reads int64 token ids); the card records the sha256
of every other file in the folder, and of itself (``card_sha256``: the sha256 of its own
canonical JSON without that key). :func:`read_bundle` checks everything a server relies on
before it loads anything: the three files are there, the card is a honed card whose own hash
holds and whose fields have the right types and agree with each other, every file it lists has
the recorded hash, the model parses as ONNX without reading external data and any external
data it names stays inside the bundle, and preprocess.json is a honed recipe that agrees with
the card (task, classes, input shape) and holds what serving reads (e.g. a table's
``columns``; for text, the ``tokenizer.json`` it names, with the same sha256 as in the card,
loaded and put in the recipe's place, so that ``Bundle.preprocess`` replays it). Whatever fails is one :class:`~honed.errors.BundleError` naming the file and what
is wrong with it.

The hashes catch damage and casual edits; they are no signature: whoever can rewrite the
card can recompute them. Ship bundles over a channel you trust.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from honed.errors import BundleError

__all__ = ["Bundle", "read_bundle", "file_sha256", "hash_files", "card_sha256", "CARD_FORMAT",
           "CARD_VERSION", "CARD_HASH", "REQUIRED_FILES", "TASKS", "TOKENIZER_FILE"]

CARD_FORMAT = "honed.card"
CARD_VERSION = 2  # 2: the card carries its own sha256
CARD_HASH = "card_sha256"
TASKS = ("classification", "regression", "forecasting")
KINDS = ("table", "image", "sequence", "text")
MODEL_FILE, PREPROCESS_FILE, CARD_FILE = "model.onnx", "preprocess.json", "card.json"
TOKENIZER_FILE = "tokenizer.json"  # a text model's tokenizer, Hugging Face's own format
# the model's input types by kind (float32 for every other kind); token ids are int64, or
# float32 in an ONNX variant that ``honed compress`` made from a float32 export
_DTYPES = {"text": ("int64", "float32")}
REQUIRED_FILES = (MODEL_FILE, PREPROCESS_FILE, CARD_FILE)


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: its folder, the model file, the card and the preprocessing recipe."""

    root: Path
    model_path: Path
    card: dict[str, Any]
    preprocess: dict[str, Any]

    @property
    def task(self) -> str:
        """classification, regression or forecasting."""
        return self.card["task"]

    @property
    def class_names(self) -> list[str] | None:
        """Class names by output index (classification), else None."""
        names = self.card.get("class_names")
        return None if names is None else [str(name) for name in names]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape, without the batch axis."""
        return tuple(int(size) for size in self.card["input"]["shape"])

    @property
    def num_outputs(self) -> int:
        """Width of the model's output (classes, or regression/forecast values)."""
        return int(self.card["output"]["shape"][0])


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_files(folder: str | os.PathLike) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``folder`` but card.json, sorted."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p != folder / CARD_FILE)
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}


def card_sha256(card: dict[str, Any]) -> str:
    """The sha256 of ``card``'s canonical JSON (sorted keys, no spaces), without its own hash.

    ``card`` must be as JSON reads it back (plain lists, dicts, str, numbers)."""
    body = {key: value for key, value in card.items() if key != CARD_HASH}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_bundle(folder: str | os.PathLike) -> Bundle:
    """Check the bundle in ``folder`` and return it.

    Args:
        folder: a bundle folder (``DIR/bundle``), or a run dir that holds one.

    Returns:
        The bundle, with the card and preprocessing already parsed.

    Raises:
        BundleError: one line naming the file and the problem.

    Example:
        >>> bundle = read_bundle("runs/iris/bundle")
        >>> bundle.task, bundle.input_shape, bundle.class_names
    """
    root = Path(folder)
    if not root.is_dir():
        raise BundleError(f"{root} is not a folder")
    if not (root / CARD_FILE).is_file() and (root / "spec.yaml").is_file():
        if not (root / "bundle").is_dir():
            raise BundleError(f"{root} is a run dir without a bundle; run honed export {root}")
        root = root / "bundle"  # a run dir: its bundle
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise BundleError(f"{root} is not a honed bundle: {name} is missing")
    card = _read_json(root / CARD_FILE)
    _check_card(root, card)
    _check_hashes(root, card["files"])
    _check_onnx(root, root / MODEL_FILE, card["files"])
    preprocess = _read_json(root / PREPROCESS_FILE)
    _check_preprocess(root / PREPROCESS_FILE, preprocess, card)
    if preprocess["kind"] == "text":
        preprocess["tokenizer"] = _read_tokenizer(root, preprocess, card["files"])
    return Bundle(root, root / MODEL_FILE, card, preprocess)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BundleError(f"{path} must hold a JSON object; got {type(value).__name__}")
    return value


def _check_card(root: Path, card: dict[str, Any]) -> None:
    path = root / CARD_FILE
    if card.get("format") != CARD_FORMAT:
        raise BundleError(f"{path} is not a honed card (format is {card.get('format')!r}, "
                          f"expected {CARD_FORMAT!r})")
    version = card.get("version")
    if not isinstance(version, int) or version > CARD_VERSION:
        raise BundleError(f"{path} has card version {version!r}; this honed reads version "
                          f"{CARD_VERSION} (a newer honed wrote it?)")
    if version < CARD_VERSION or CARD_HASH not in card:
        raise BundleError(f"{path} records no {CARD_HASH} (card version {version}, written "
                          "by an older honed); export the run again")
    if card[CARD_HASH] != card_sha256(card):
        raise BundleError(f"{path} does not match its own {CARD_HASH} (changed or damaged "
                          "after export); export the run again")
    for key in ("task", "input", "output", "files"):
        if key not in card:
            raise BundleError(f"{path} lacks {key!r}")
    try:
        shape = [int(size) for size in card["input"]["shape"]]
        outputs = int(card["output"]["shape"][0])
    except (KeyError, TypeError, ValueError, IndexError):
        raise BundleError(f"{path}: input.shape and output.shape must be lists of sizes"
                          ) from None
    if not shape or min(shape) < 1 or outputs < 1:
        raise BundleError(f"{path}: input.shape {shape} and output.shape must be positive")
    files = card["files"]
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BundleError(f"{path}: 'files' must map file names to sha256 strings")
    for name in (MODEL_FILE, PREPROCESS_FILE):
        if name not in files:
            raise BundleError(f"{path} records no sha256 for {name}")
    _check_outputs(path, card, outputs)


def _check_outputs(path: Path, card: dict[str, Any], outputs: int) -> None:
    """The task, the class names and the output kind agree: a card is read as a whole."""
    task, names = card["task"], card.get("class_names")
    if task not in TASKS:
        raise BundleError(f"{path}: task must be one of {', '.join(TASKS)}; got {task!r}")
    kind = (card["output"] or {}).get("kind") if isinstance(card["output"], dict) else None
    expected = "logits" if task == "classification" else "values"
    if kind != expected:
        raise BundleError(f"{path}: output.kind must be {expected!r} for a {task} model; "
                          f"got {kind!r}")
    if task != "classification":
        if names is not None:
            raise BundleError(f"{path}: class_names must be null for a {task} model")
        return
    if (not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names)
            or len(names) != outputs):
        raise BundleError(f"{path}: class_names must list one name per output ({outputs}) "
                          "for a classification model")


def _check_preprocess(path: Path, preprocess: dict[str, Any], card: dict[str, Any]) -> None:
    """preprocess.json is a honed recipe, agrees with the card, and holds what serving reads."""
    if preprocess.get("format") != "honed.preprocess":
        raise BundleError(f"{path} is not a honed preprocessing recipe (format is "
                          f"{preprocess.get('format')!r}, expected 'honed.preprocess')")
    kind = preprocess.get("kind")
    if kind not in KINDS:
        raise BundleError(f"{path}: kind must be one of {', '.join(KINDS)}; got {kind!r}")
    for key in ("task", "input_shape"):
        if key not in preprocess:
            raise BundleError(f"{path} lacks {key!r}")
    if preprocess["task"] != card["task"]:
        raise BundleError(f"{path} is for a {preprocess['task']!r} model; card.json says "
                          f"{card['task']!r}")
    names = preprocess.get("class_names")
    if (None if names is None else [str(n) for n in names]) != (
            None if card.get("class_names") is None else [str(n) for n in card["class_names"]]):
        raise BundleError(f"{path}: class_names {names} differ from card.json's "
                          f"{card.get('class_names')}")
    if preprocess["input_shape"] != card["input"]["shape"]:
        raise BundleError(f"{path}: input_shape {preprocess['input_shape']} differs from "
                          f"card.json's input.shape {card['input']['shape']}")
    if not isinstance(preprocess.get("scaler"), dict):
        raise BundleError(f"{path} lacks 'scaler' (an object)")
    dtype = card["input"].get("dtype") or "float32"
    if dtype not in _DTYPES.get(kind, ("float32",)):
        raise BundleError(f"{path}: a {kind} model reads "
                          f"{' or '.join(_DTYPES.get(kind, ('float32',)))} inputs; card.json "
                          f"says {dtype!r}")
    if kind == "table":
        _check_columns(path, preprocess.get("columns"))
    if kind == "text":
        text, tabular = preprocess.get("text"), preprocess.get("tabular")
        width = 0
        if tabular is not None:  # table columns beside the text: [ids | features]
            if not isinstance(tabular, dict) or not isinstance(tabular.get("feature_names"),
                                                               list):
                raise BundleError(f"{path}: 'tabular' must hold the table columns' recipe "
                                  "and their 'feature_names'")
            _check_columns(path, tabular.get("columns"))
            width = len(tabular["feature_names"])
        if (not isinstance(text, dict) or not isinstance(text.get("columns"), list)
                or not text["columns"]
                or text.get("max_length") != card["input"]["shape"][0] - width):
            raise BundleError(f"{path}: a text model's recipe must name its 'text' columns "
                              "and a max_length equal to card.json's input.shape (less its "
                              "table features)")


def _read_tokenizer(root: Path, preprocess: dict[str, Any], files: dict[str, str]) -> str:
    """The JSON of the tokenizer that preprocess.json names, checked against both hashes."""
    path, ref = root / PREPROCESS_FILE, preprocess.get("tokenizer")
    if not isinstance(ref, dict) or not isinstance(ref.get("file"), str):
        raise BundleError(f"{path}: 'tokenizer' must name the bundle's tokenizer file "
                          f"({{\"file\": \"{TOKENIZER_FILE}\", \"sha256\": ...}})")
    name = ref["file"]
    if name not in files or _inside(root, name) is None:
        raise BundleError(f"{path} names tokenizer {name!r}, which card.json does not list")
    if str(ref.get("sha256", "")).lower() != files[name].lower():
        raise BundleError(f"{path}: the sha256 of {name} differs from card.json's")
    from honed.data.tokenize import read_tokenizer
    from honed.errors import DataError

    try:
        return read_tokenizer(root / name)
    except DataError as exc:
        raise BundleError(str(exc).removeprefix("data.tokenizer.file: ")) from None


def _check_columns(path: Path, columns: Any) -> None:
    if not isinstance(columns, list) or not columns:
        raise BundleError(f"{path}: a table model's recipe must list its input 'columns'; "
                          f"got {type(columns).__name__ if columns is not None else 'none'}")
    for i, column in enumerate(columns):
        if (not isinstance(column, dict) or not isinstance(column.get("name"), str)
                or column.get("type") not in ("numeric", "categorical")
                or not isinstance(column.get("outputs"), list)):
            raise BundleError(f"{path}: columns[{i}] must have a 'name', a 'type' (numeric or "
                              "categorical) and 'outputs'")


def _inside(root: Path, name: str) -> Path | None:
    """``root / name`` when ``name`` is a relative path that stays in ``root``, else None."""
    relative = PurePosixPath(name.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    target = (root / relative).resolve()
    return target if target.is_relative_to(root.resolve()) else None


def _check_hashes(root: Path, files: dict[str, str]) -> None:
    for name, expected in files.items():
        target = _inside(root, name)
        if target is None:
            raise BundleError(f"{root / CARD_FILE} lists {name!r}, a path outside the bundle")
        if not target.is_file():
            raise BundleError(f"{root / name} is listed in card.json but missing")
        if file_sha256(target) != expected.lower():
            raise BundleError(f"{root / name} does not match the sha256 in card.json (changed "
                              "or damaged after export); export the run again")


def _check_onnx(root: Path, path: Path, files: dict[str, str]) -> None:
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, truncated files, ...
        raise BundleError(f"{path} is not a readable ONNX model ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'parse error'})"
                          ) from None
    if not proto.graph.node or not proto.graph.output:
        raise BundleError(f"{path} holds an empty ONNX graph (truncated?)")
    for tensor in _tensors(proto):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = _inside(root, location)
        if target is None:
            raise BundleError(f"{path}: tensor {tensor.name!r} reads external data from "
                              f"{location!r}, outside the bundle")
        if not target.is_file():
            raise BundleError(f"{path}: external data file {location!r} of tensor "
                              f"{tensor.name!r} is missing")
        if target.relative_to(root.resolve()).as_posix() not in files:
            raise BundleError(f"{path}: external data file {location!r} is not listed with "
                              "its sha256 in card.json")
    try:  # a truncated file can still parse; the checker sees the missing parts
        onnx.checker.check_model(proto)
    except Exception as exc:  # ValidationError
        raise BundleError(f"{path} is not a valid ONNX model: "
                          f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
                          ) from None


def _tensors(proto) -> list:
    """Every initializer and tensor attribute of the model, subgraphs included."""
    found, graphs = [], [proto.graph]
    while graphs:
        graph = graphs.pop()
        found.extend(graph.initializer)
        found.extend(sparse.values for sparse in graph.sparse_initializer)
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    found.append(attribute.t)
                found.extend(attribute.tensors)
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    return found
