"""Per-token attributions of text models: token ids ``(N, T)`` in, one score per token out.

Token ids have no gradient, so the gradient methods work on the embedding layer (every text
family names its :class:`~honed.models.tokens.TokenEmbedding` ``embed``), and each token's
score is its attribution summed over the embedding dimension:

- ``integrated_gradients``: Captum's ``LayerIntegratedGradients`` on ``embed.embedding``, the
  baseline all padding (id 0, whose embedding is zero): each token's vector is scaled from zero
  to its value, at the text's own positions and length. Completeness is measured from that
  path's start, ``f`` with every token's embedding at zero (for the families that pool over
  the text's length, such as a GRU, that is not ``f`` of an all-padding text, which is one
  token long), so the recorded ``delta`` is the integration error alone.
- ``feature_ablation`` (``occlusion`` too): Captum's ``FeatureAblation``, each token deleted in
  turn (set to padding and the text closed up, as if the word had not been written:
  :func:`~honed.explain.token_ids.close_up`, as ``honed serve``'s ``/v1/explain`` deletes);
  the score is how much the explained output fell. No gradient.

Padding gets no score (0 in the arrays, left out of every JSON list). An embedding bag's
n-gram vectors are folded back onto their tokens, each token of an n-gram taking ``1/n`` of it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from honed.errors import UserInputError

from .attributions import Attributions, chunked, import_captum, per_eval
from .kinds.text import BASELINES
from .token_ids import close_up

__all__ = ["attribute_tokens", "deletion_mask"]

#: texts per Captum call (integrated gradients expands each by its steps)
_CHUNK = 32


def _embedding(model: nn.Module) -> nn.Embedding:
    layer = getattr(getattr(model, "embed", None), "embedding", None)
    if not isinstance(layer, nn.Embedding):
        raise UserInputError("explaining text needs a model whose token embedding is "
                             f"`embed.embedding` (honed's text families); {type(model).__name__} "
                             "has none")
    return layer


def attribute_tokens(model: nn.Module, x: np.ndarray, *, method: str, task: str,
                     steps: int = 128) -> Attributions:
    """One score per token of every row of ``x`` (ids ``(N, T)``), for the output
    :func:`~honed.explain.attributions.output_target` picks; see the module for the methods."""
    attr = import_captum()
    layer = _embedding(model)
    ids = torch.as_tensor(np.asarray(x, dtype=np.float32))

    def one(start, part, target):
        if method == "integrated_gradients":
            value = attr.LayerIntegratedGradients(model, layer).attribute(
                part, baselines=torch.zeros_like(part), target=target, n_steps=steps,
                internal_batch_size=512)
            value = _fold(value.detach().sum(-1), part.shape[1], model)
            delta = value.sum(1) - _moved(model, layer, part, target)
        else:
            mask, real = deletion_mask(part)
            value, delta = attr.FeatureAblation(
                lambda inputs: model(torch.as_tensor(close_up(inputs)))).attribute(
                part, baselines=0.0, target=target, feature_mask=mask,
                perturbations_per_eval=min(per_eval(part), real + 1)), None
        return torch.where(part != 0, value, 0.0), delta

    values, targets, deltas = chunked(model, ids, task, _CHUNK, one)
    return Attributions(method, values, targets, BASELINES[method], deltas)


def deletion_mask(ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Captum's feature mask that deletes each token of ids ``(B, T)``: feature ``i`` is the
    token at position ``i``, padding shares one feature (a no-op); and the most real tokens of
    a row (so the padding feature is number ``real``)."""
    real = int((ids != 0).sum(1).max().item())
    return torch.arange(ids.shape[1]).clamp(max=real).expand_as(ids), real


def _moved(model: nn.Module, layer: nn.Embedding, ids: torch.Tensor,
           target: torch.Tensor) -> torch.Tensor:
    """``f(x) - f(path start)`` of the explained output: the start has every embedding zero."""
    rows = torch.arange(len(ids))
    with torch.no_grad():
        end = model(ids)[rows, target]
        handle = layer.register_forward_hook(lambda module, args, output: torch.zeros_like(output))
        try:
            start = model(ids)[rows, target]
        finally:
            handle.remove()
    return end - start


def _fold(values: torch.Tensor, length: int, model: nn.Module) -> torch.Tensor:
    """Per-position scores ``(B, P)`` of the embedding layer back to ``(B, length)`` tokens."""
    if values.shape[1] == length:
        return values
    tokens = values[:, :length].clone()
    offset = length
    for n in range(2, int(getattr(model, "ngrams", 1)) + 1):  # EmbedBag's n-gram blocks
        count = length - n + 1
        block = values[:, offset:offset + count] / n
        for shift in range(n):
            tokens[:, shift:shift + count] += block
        offset += count
    if offset != values.shape[1]:
        raise ValueError(f"cannot map {values.shape[1]} embedded positions onto {length} tokens")
    return tokens
