"""``data.tokenizer``: how free text becomes token ids (see :mod:`honed.data.tokenize`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honed.spec.sections.common import Section

__all__ = ["TokenizerSpec", "column_names"]


class TokenizerSpec(Section):
    """How free text becomes token ids: a Hugging Face ``tokenizers`` model fitted on the
    training split only, saved in the run's preprocessing and replayed by honed predict."""

    kind: Literal["word", "bpe", "wordpiece"] = Field(
        "word", description="`word`: word-level; `bpe`: byte-pair encoding; `wordpiece`: "
        "WordPiece.")
    vocab_size: Annotated[int, Field(ge=8, le=1_000_000)] = Field(
        20000, description="Most tokens kept, special tokens included.")
    lowercase: bool = Field(True, description="Lowercase before splitting.")
    min_frequency: Annotated[int, Field(ge=1)] = Field(
        2, description="A token seen fewer times in the training split is unknown.")
    max_length: Annotated[int, Field(ge=1, le=8192)] = Field(
        128, description="Tokens per text: longer texts are cut (and counted), shorter ones "
        "padded.")
    file: str | None = Field(
        None, description="A tokenizer.json (or a run dir holding one) used as it is instead "
        "of fitting one: the init_from run's, so that token ids keep their meaning.")


def column_names(value):
    """``review`` → ``[review]``: one column name or a list of them."""
    return [value] if isinstance(value, str) else value
