"""Text beside table columns (:class:`~honed.explain.kinds.mixed.MixedKind`): tokens and
columns explained by the text's and the table's own methods, side by side.

- Global: each widespread token deleted from the test texts
  (:func:`~honed.explain.token_importance.token_importance`) and each column group shuffled
  across the test rows (:func:`~honed.explain.importance.permutation_importance`), both in the
  run's metric, in one list ranked by the drop; each entry's ``kind`` says which it is
  (``token`` or ``feature``) and ``label`` names it so (``token great``, ``column stars``).
- Per input: Captum's ``FeatureAblation`` over ``[ids | features]`` in one pass: each token
  deleted in turn (set to padding, the text closed up, as
  :func:`~honed.explain.tokens.attribute_tokens` does) and each column group set to the
  baseline 0 (its training mean under standard scaling). A group's score sits at each of its
  positions; :func:`column_scores` reads one per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .attributions import Attributions, chunked, import_captum, per_eval
from .kinds import Group
from .kinds.mixed import DESCRIPTION
from .token_ids import close_up
from .tokens import deletion_mask

__all__ = ["attribute_mixed", "integrated_mixed", "mixed_importance", "column_scores",
           "offset_of"]

#: rows per Captum call
_CHUNK = 32


def offset_of(preprocess: dict[str, Any]) -> int:
    """Where the token ids end and the table features begin in a mixed input row."""
    return int(preprocess["tabular"]["offset"])


def attribute_mixed(model: nn.Module, x: np.ndarray, *, groups: list[Group], offset: int,
                    task: str) -> Attributions:
    """One score per token and per column group of every row of ``x`` ``(N, T + k)``, for the
    output :func:`~honed.explain.attributions.output_target` picks; padding scores 0."""
    attr = import_captum()
    inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))

    def forward(batch: torch.Tensor) -> torch.Tensor:
        ids = torch.as_tensor(close_up(batch[:, :offset]))
        return model(torch.cat([ids, batch[:, offset:]], dim=1))

    def one(start, part, target):
        tokens, real = deletion_mask(part[:, :offset])
        columns = torch.zeros(part.shape[1] - offset, dtype=torch.long)
        for number, group in enumerate(groups, start=real + 1):
            columns[torch.as_tensor(group.index - offset)] = number
        mask = torch.cat([tokens, columns.expand(len(part), -1)], dim=1)
        value = attr.FeatureAblation(forward).attribute(
            part, baselines=0.0, target=target, feature_mask=mask,
            perturbations_per_eval=min(per_eval(part), real + 1 + len(groups)))
        keep = torch.cat([part[:, :offset] != 0, torch.ones_like(part[:, offset:], dtype=bool)],
                         dim=1)
        return torch.where(keep, value, 0.0), None

    values, targets, _ = chunked(model, inputs, task, _CHUNK, one)
    return Attributions("feature_ablation", values, targets, DESCRIPTION)


def integrated_mixed(model: nn.Module, x: np.ndarray, *, offset: int, task: str,
                     steps: int) -> Attributions:
    """Integrated gradients of every row of ``x`` ``(N, T + k)``: on the text model's token
    embedding (as :func:`~honed.explain.tokens.attribute_tokens` integrates it, each token's
    vector scaled from zero) and on the table features (from 0, their training mean under
    standard scaling) along one straight path; a token's score is its vector's summed, a
    feature's its own. ``delta`` is the integration error from that path's start."""
    from .kinds.mixed import INTEGRATED
    from .tokens import _embedding, _fold

    attr = import_captum()
    text = getattr(model, "text", model)
    layer = _embedding(text)
    inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))

    def forward(vectors: torch.Tensor, features: torch.Tensor, ids: torch.Tensor):
        handle = layer.register_forward_hook(lambda module, args, output: vectors)
        try:
            return model(torch.cat([ids, features], dim=1))
        finally:
            handle.remove()

    def one(start, part, target):
        ids, features = part[:, :offset], part[:, offset:]
        seen = []
        handle = layer.register_forward_hook(lambda module, args, output: seen.append(output))
        try:
            with torch.no_grad():
                model(part)
        finally:
            handle.remove()
        (vectors, columns), delta = attr.IntegratedGradients(forward).attribute(
            (seen[0], features), baselines=(torch.zeros_like(seen[0]), torch.zeros_like(features)),
            target=target, additional_forward_args=(ids,), n_steps=steps,
            internal_batch_size=512, return_convergence_delta=True)
        tokens = _fold(vectors.detach().sum(-1), offset, text)
        tokens = torch.where(ids != 0, tokens, 0.0)
        return torch.cat([tokens, columns.detach()], dim=1), delta

    values, targets, deltas = chunked(model, inputs, task, _CHUNK, one)
    return Attributions("integrated_gradients", values, targets, INTEGRATED, deltas)


def column_scores(values: np.ndarray, groups: list[Group]) -> np.ndarray:
    """Each column group's score ``(N, len(groups))``: feature ablation gives every position
    of a group the group's score, so one position is read, not the sum."""
    flat = np.asarray(values).reshape(len(values), -1)
    return np.stack([flat[:, group.index[0]] for group in groups], axis=1)


def mixed_importance(model: nn.Module, x: np.ndarray, y: np.ndarray, *, groups: list[Group],
                     offset: int, vocabulary, task: str, metric: str, repeats: int, seed: int,
                     target_scale=None, class_names=None, outputs=None) -> dict[str, Any]:
    """Token deletion and column permutation importance in one ranked list (see the module);
    the keys of :func:`~honed.explain.token_importance.token_importance`, ``repeats`` and
    ``interval`` the columns', and ``tokens`` / ``columns`` counting the entries of each."""
    from .importance import permutation_importance
    from .token_importance import token_importance

    common = {"task": task, "metric": metric, "target_scale": target_scale,
              "class_names": class_names, "outputs": outputs}
    tokens = token_importance(model, x, y, vocabulary=vocabulary, offset=offset, **common)
    columns = permutation_importance(model, x, y, groups=groups, repeats=repeats, seed=seed,
                                     **common)
    for entry in tokens["importances"]:
        entry["label"] = f"token {entry['name']}"
    for entry in columns["importances"]:
        entry["label"] = f"column {entry['name']}"
    merged = sorted(tokens["importances"] + columns["importances"],
                    key=lambda item: (item["mean"], item["output_change"]), reverse=True)
    return {**tokens, "how": f"each token deleted from the test texts that hold it; each "
                             f"column shuffled across the test rows, {repeats} repeats",
            "repeats": repeats, "interval": columns["interval"], "tokens": len(tokens[
                "importances"]), "columns": len(columns["importances"]), "importances": merged}
