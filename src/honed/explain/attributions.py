"""Per-example attributions with Captum: how much each input position moved one output.

Four methods, picked by ``explain.method`` (``auto``: the input kind's default):

- ``integrated_gradients``: gradients averaged on the straight path from the kind's baseline
  (:meth:`ExplainKind.baseline`, recorded); they add up to ``f(x) - f(baseline)``.
- ``saliency``: the absolute gradient at the input (cheapest, noisiest).
- ``occlusion`` / ``feature_ablation``: the output change when a window (images, sequences)
  or a user-level group (tables: a one-hot column as one) is set to the baseline; needs no
  gradient.
- ``gradient_shap``: integrated gradients from random training inputs (expected gradients).

Captum is the optional extra ``explain``, imported here and nowhere at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from honed.errors import UserInputError

from .kinds import Baseline, ExplainKind, Group, feature_mask

__all__ = ["METHODS", "Attributions", "attribute", "resolve_method", "import_captum",
           "group_sums", "output_target", "chunked", "per_eval"]

METHODS = ("integrated_gradients", "saliency", "occlusion", "feature_ablation", "gradient_shap")
#: inputs per Captum call: integrated gradients expands each by its steps
_CHUNK = 64
#: the most memory the occluded copies of one model call take
_PER_EVAL_BYTES = 32 * 2**20


@dataclass
class Attributions:
    """Attributions of a batch of inputs, the shape of the inputs."""

    method: str
    values: np.ndarray  # (N, *input_shape)
    targets: np.ndarray  # (N,) the output index each row is explained for
    baseline: str  # what the baseline was, for the record
    delta: np.ndarray | None = None  # integrated gradients' completeness error per row
    #: gradient_shap: the training rows its baselines are drawn from (uniformly, per sample)
    baseline_rows: list[int] | None = None


def import_captum():
    """``captum.attr``, or a one-line error naming the extra to install."""
    try:
        import captum.attr
    except ImportError:
        from honed.install import install_hint

        raise UserInputError(f"attributions need Captum: {install_hint('explain')}") from None
    return captum.attr


def resolve_method(method: str, kind: ExplainKind) -> str:
    """``auto`` as the kind's default; ``occlusion`` and ``feature_ablation`` as fits the kind."""
    if method == "auto":
        return kind.default_method
    if method not in METHODS:
        raise UserInputError(f"--method must be one of auto, {', '.join(METHODS)}; got {method!r}")
    if method in ("occlusion", "feature_ablation"):
        return kind.ablation  # the same idea; each kind has the one that fits its layout
    if kind.methods is not None and method not in kind.methods:
        raise UserInputError(f"--method {method} does not apply to {kind.name} inputs; use "
                             f"auto, {', '.join(kind.methods)} or occlusion")
    return method


def output_target(model: nn.Module, x: torch.Tensor, task: str) -> torch.Tensor:
    """The output explained per row: the predicted class, or output 0 of a regression."""
    if task != "classification":
        return torch.zeros(len(x), dtype=torch.long)
    from honed.train.evaluate import predict

    return predict(model, x).argmax(1)


def attribute(model: nn.Module, x: np.ndarray, *, kind: ExplainKind, groups: list[Group],
              baseline: Baseline, method: str, task: str, steps: int = 128,
              references: np.ndarray | None = None, seed: int = 0) -> Attributions:
    """Attributions of every row of ``x`` for the output :func:`output_target` picks.

    Args:
        model: the trained model (put in eval mode; its mode is restored).
        x: model inputs ``(N, *input_shape)``.
        kind, groups, baseline: from the input kind.
        method: one of :data:`METHODS` (already resolved).
        task: the run's task.
        steps: integration steps of integrated gradients.
        references: training inputs gradient_shap draws its baselines from.
        seed: seed of gradient_shap's draws.
    """
    attr = import_captum()
    if kind.name == "text":  # token ids: attributions on the embedding, per token
        from .tokens import attribute_tokens

        return attribute_tokens(model, x, method=method, task=task, steps=steps)
    if kind.name == "mixed":  # [ids | features]: tokens deleted, columns at the baseline
        from .mixed import attribute_mixed, integrated_mixed

        offset = min(int(group.index.min()) for group in groups)  # the first feature
        if method == "integrated_gradients":
            return integrated_mixed(model, x, offset=offset, task=task, steps=steps)
        return attribute_mixed(model, x, groups=groups, offset=offset, task=task)
    inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))
    base = torch.as_tensor(baseline.values, dtype=torch.float32).unsqueeze(0)
    description, rows = baseline.description, None
    if method == "gradient_shap":
        if references is None:
            raise ValueError("gradient_shap needs reference inputs")
        # one draw for the whole call (every chunk shares it), recorded as it is used
        rows = _reference_rows(len(references), seed)
        base = torch.as_tensor(np.asarray(references)[rows], dtype=torch.float32)
        description = (f"{len(rows)} training inputs (rows in baseline_rows, drawn with seed "
                       f"{seed}), one picked uniformly at random, with a uniform point on "
                       f"the path to the input, for each of {_shap_samples(steps)} samples "
                       "per input; no input noise")

    def one(start, part, target):
        part = part.clone().requires_grad_()  # saliency warns on inputs without grad
        return _one(attr, model, part, target, method=method, kind=kind, groups=groups,
                    base=base, steps=steps, seed=seed + start)

    values, targets, deltas = chunked(model, inputs, task, _CHUNK, one)
    return Attributions(method, values, targets, description, deltas, rows)


def chunked(model: nn.Module, inputs: torch.Tensor, task: str, size: int, one
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``one(start, part, target) -> (values, delta or None)`` over chunks of ``size`` rows,
    the model in eval mode (its mode restored): values, the explained targets, the deltas."""
    was_training = model.training
    model.eval()
    try:
        targets = output_target(model, inputs, task)
        values, deltas = [], []
        for start in range(0, len(inputs), size):
            value, delta = one(start, inputs[start:start + size], targets[start:start + size])
            values.append(value.detach().numpy())
            if delta is not None:
                deltas.append(delta.detach().numpy())
    finally:
        model.train(was_training)
    return (np.concatenate(values), targets.numpy(),
            np.concatenate(deltas) if deltas else None)


#: training inputs gradient_shap's baselines are drawn from
SHAP_REFERENCES = 32


def _reference_rows(count: int, seed: int) -> list[int]:
    """The training rows gradient_shap draws its baselines from, sorted."""
    picked = np.random.default_rng(seed).choice(count, size=min(SHAP_REFERENCES, count),
                                                replace=False)
    return sorted(int(row) for row in picked)


def _shap_samples(steps: int) -> int:
    return steps // 2 or 1


def _one(attr, model, x, target, *, method, kind, groups, base, steps, seed):
    """One chunk through one Captum method: (attributions, convergence delta or None)."""
    if method == "integrated_gradients":
        return attr.IntegratedGradients(model).attribute(
            x, baselines=base, target=target, n_steps=steps, internal_batch_size=1024,
            return_convergence_delta=True)
    if method == "saliency":
        return attr.Saliency(model).attribute(x, target=target), None
    if method == "occlusion":
        window = kind.window(tuple(x.shape[1:]))
        return attr.Occlusion(model).attribute(
            x, sliding_window_shapes=window, strides=window, baselines=base, target=target,
            perturbations_per_eval=per_eval(x)), None
    if method == "feature_ablation":
        mask = torch.as_tensor(feature_mask(groups, tuple(x.shape[1:]))).unsqueeze(0)
        return attr.FeatureAblation(model).attribute(x, baselines=base, target=target,
                                                     feature_mask=mask,
                                                     perturbations_per_eval=per_eval(x)), None
    if method == "gradient_shap":  # base: the reference rows (see attribute)
        # captum draws each sample's baseline and path point from NumPy's global generator
        # (its noise, none here, from torch's): both seeded, the caller's states kept
        state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                np.random.seed(seed)
                torch.manual_seed(seed)
                return attr.GradientShap(model).attribute(
                    x, baselines=base, target=target, n_samples=_shap_samples(steps)), None
        finally:
            np.random.set_state(state)
    raise ValueError(f"unknown attribution method {method!r}")


def per_eval(x: torch.Tensor) -> int:
    """Occluded copies of a chunk per model call: as many as fit in _PER_EVAL_BYTES (one
    call per window made most of a small model's occlusion cost Python's)."""
    return int(np.clip(_PER_EVAL_BYTES // max(x.numel() * 4, 1), 1, 64))


def group_sums(values: np.ndarray, groups: list[Group]) -> np.ndarray:
    """Per-row attribution of each group (the sum over its positions): ``(N, len(groups))``."""
    flat = values.reshape(len(values), -1)
    return np.stack([flat[:, group.index].sum(axis=1) for group in groups], axis=1)
