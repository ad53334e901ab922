"""Text to token ids with Hugging Face ``tokenizers``: fitted on train, saved, replayed exactly.

The fitted tokenizer travels as its own JSON serialization (the ``tokenizer.json`` format every
Hugging Face tool reads), kept inside the preprocess recipe so that
:func:`honed.data.transform.apply_preprocess` replays it from the dict alone, without torch.

Normalization is Unicode NFKC-like cleaning plus optional lowercasing (``BertNormalizer``, which
also puts spaces around CJK ideographs, so Chinese is split into characters), and the
pre-tokenizer splits on whitespace and punctuation (``BertPreTokenizer``). Id 0 is always the
padding token, so models can mask it; texts are cut to ``max_length`` ids and padded to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from honed.errors import DataError

__all__ = ["PAD", "UNK", "SEP", "fit_tokenizer", "read_tokenizer", "encode_texts", "encode_rows",
           "encode_lengths", "vocab_size"]

PAD, UNK, SEP = "[PAD]", "[UNK]", "[SEP]"
_SPECIALS = [PAD, UNK, SEP]  # in this order: PAD gets id 0


def _tokenizers():
    try:
        import tokenizers
    except ImportError:  # a core dependency; only a broken install lacks it
        raise DataError("text inputs need the 'tokenizers' package (pip install tokenizers)"
                        ) from None
    return tokenizers


def fit_tokenizer(texts: Sequence[str], *, kind: str, vocab_size: int, lowercase: bool,
                  min_frequency: int) -> str:
    """Train a tokenizer on ``texts`` (the training split only) and return its JSON.

    Args:
        texts: The training texts.
        kind: ``word`` (word-level), ``bpe`` or ``wordpiece``.
        vocab_size: Most tokens kept, the three special tokens included.
        lowercase: Lowercase before splitting.
        min_frequency: Tokens (words, or merges) seen fewer times are left out.

    Raises:
        DataError: The texts leave fewer than two real tokens (nothing to tell apart).
    """
    tk = _tokenizers()
    models, trainers = tk.models, tk.trainers
    if kind == "word":
        model = models.WordLevel(unk_token=UNK)
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                            special_tokens=_SPECIALS, show_progress=False)
    elif kind == "bpe":
        model = models.BPE(unk_token=UNK)
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=_SPECIALS, show_progress=False)
    elif kind == "wordpiece":
        model = models.WordPiece(unk_token=UNK)
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                            special_tokens=_SPECIALS, show_progress=False)
    else:
        raise DataError(f"data.tokenizer.kind must be one of word, bpe, wordpiece; got {kind!r}")
    tokenizer = tk.Tokenizer(model)
    tokenizer.normalizer = tk.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase)
    tokenizer.pre_tokenizer = tk.pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    real = tokenizer.get_vocab_size() - len(_SPECIALS)
    if real < 2:
        raise DataError(f"the training texts give a vocabulary of {max(real, 0)} token(s) "
                        f"(data.tokenizer.min_frequency: {min_frequency}); a text model needs "
                        "at least 2 (lower min_frequency, or give more varied text)")
    assert tokenizer.token_to_id(PAD) == 0
    return tokenizer.to_str()


def read_tokenizer(path: str | Path) -> str:
    """The JSON of a saved tokenizer: a ``tokenizer.json``, or a run dir or model folder
    holding one, checked to load and to pad with id 0 like the ones honed fits.

    Raises:
        DataError: Missing, unreadable, or not a tokenizer with ``[PAD]`` as id 0.
    """
    path = Path(path)
    for candidate in (path, path / "tokenizer.json", path / "model" / "tokenizer.json"):
        if candidate.is_file():
            break
    else:
        raise DataError(f"data.tokenizer.file: no tokenizer.json at {path}")
    try:
        text = candidate.read_text(encoding="utf-8")
        tokenizer = _load(text)
    except Exception as error:  # OSError, UnicodeDecodeError, and tokenizers' plain Exception
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"data.tokenizer.file: cannot read {candidate}: {first}") from None
    if tokenizer.token_to_id(PAD) != 0:
        raise DataError(f"data.tokenizer.file: {candidate} does not have {PAD} as token 0, "
                        "which honed's models mask as padding")
    return text


def vocab_size(tokenizer_json: str) -> int:
    """Number of token ids the tokenizer can emit (the embedding's rows)."""
    return _load(tokenizer_json).get_vocab_size()


def encode_texts(tokenizer_json: str, texts: Sequence[str], *, max_length: int
                 ) -> tuple[np.ndarray, int]:
    """Token ids ``(N, max_length)`` int64, padded with 0, and how many texts were cut.

    Raises:
        DataError: A text is not a string.
    """
    ids, lengths = encode_lengths(tokenizer_json, texts, max_length=max_length)
    return ids, int((lengths > max_length).sum())


def encode_rows(tokenizer_json: str, texts: Sequence[str], *, max_length: int,
                threads: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Token ids ``(N, max_length)`` int64, padded with 0, and which texts were cut (bool).

    Args:
        threads: Encode with ``encode_batch`` on the tokenizers thread pool. Off by default:
            once the pool has run, tokenizers warns (and stops using it) in every process
            forked afterwards, such as search workers; serving, which forks none, turns it on.

    Raises:
        DataError: A text is not a string.
    """
    ids, lengths = encode_lengths(tokenizer_json, texts, max_length=max_length, threads=threads)
    return ids, lengths > max_length


def encode_lengths(tokenizer_json: str, texts: Sequence[str], *, max_length: int,
                   threads: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`encode_rows`, with every text's length in tokens before the cut ``(N,)``.

    Raises:
        DataError: A text is not a string.
    """
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text input {row + 1} is {type(text).__name__} {text!r}, not a "
                            "string")
    tokenizer = _load(tokenizer_json)
    ids = np.zeros((len(texts), max_length), dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    encodings = (tokenizer.encode_batch(list(texts), add_special_tokens=False) if threads
                 else (tokenizer.encode(text, add_special_tokens=False) for text in texts))
    for row, encoding in enumerate(encodings):
        tokens = encoding.ids
        lengths[row] = len(tokens)
        tokens = tokens[:max_length]
        ids[row, :len(tokens)] = tokens
    return ids, lengths


@lru_cache(maxsize=4)
def _load(tokenizer_json: str):
    # Parsing a large vocabulary costs milliseconds; a server replays the same one per request.
    return _tokenizers().Tokenizer.from_str(tokenizer_json)
