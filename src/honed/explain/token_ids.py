"""Token ids without torch: deleting a token from a text, and each token's text.

A token is *deleted* by setting it to padding (id 0) and closing the text up, as if the word
had not been written; :mod:`honed.explain.tokens` (Captum's feature ablation),
:mod:`honed.explain.token_importance` and ``honed serve``'s ``/v1/explain``
(:mod:`honed.serve.explain`) all delete this way. NumPy only, so the server needs no torch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["close_up", "deletions", "vocabulary", "token_strings"]


def close_up(ids) -> np.ndarray:
    """Ids ``(N, T)`` (an array, or a CPU tensor without grad) with padding moved to the end
    of each row, the tokens' order kept."""
    ids = np.asarray(ids)
    order = np.argsort(ids == 0, axis=1, kind="stable")
    return np.take_along_axis(ids, order, axis=1)


def deletions(ids: np.ndarray) -> np.ndarray:
    """One text's ids ``(T,)`` as ``(R + 1, T)``: the text itself, then the text with each of
    its ``R`` real (non-padding) tokens deleted in turn, in their order."""
    ids = np.asarray(ids).reshape(-1)
    real = np.flatnonzero(ids != 0)
    batch = np.repeat(ids[None], len(real) + 1, axis=0)
    batch[np.arange(1, len(real) + 1), real] = 0
    return close_up(batch)


@lru_cache(maxsize=4)
def vocabulary(tokenizer_json: str) -> tuple[str, ...]:
    """Each token id's text, from the run's saved tokenizer."""
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_str(tokenizer_json).get_vocab(with_added_tokens=True)
    names = [""] * (max(vocab.values()) + 1)
    for token, number in vocab.items():
        names[number] = token
    return tuple(names)


def token_strings(ids: np.ndarray, tokenizer_json: str) -> np.ndarray:
    """``(N, T)`` token texts of ids (``""`` for padding), a plain unicode array; WordPiece
    continuations keep their ``##``."""
    names = np.asarray(vocabulary(tokenizer_json) or ("",))
    codes = np.asarray(ids).astype(np.int64)
    text = names[np.clip(codes, 0, len(names) - 1)]
    return np.where(codes == 0, "", text)
