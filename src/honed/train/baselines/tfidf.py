"""TF-IDF + logistic regression on the run's own tokens: the baseline text models must beat.

The prepared text is token ids from the run's tokenizer (``[PAD]`` is 0), so the baseline sees
exactly the words the network sees: unigrams and bigrams of ids, TF-IDF weighted
(sublinear term frequency), then an L2 logistic regression. It fits on every training row, not
a sample (sparse features are cheap, and a capped baseline would flatter the network).
With table columns beside the text (:mod:`honed.data.mixed`), their prepared features (scaled
numbers, one-hot categories) join the TF-IDF columns, so the baseline reads what the network
reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData
from honed.data.mixed import split_mixed
from honed.train.baselines.base import BaselineSkipped, log_probabilities, register_baseline

#: solver iterations: enough for the text sizes honed ships (movie_reviews: 9k rows)
TFIDF_MAX_ITER = 200


def token_grams(ids: np.ndarray) -> list[str]:
    """The unigrams and bigrams of one text's token ids, padding left out."""
    words = [str(i) for i in ids.tolist() if i != 0]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@register_baseline("tfidf_logistic", tasks=("classification",), kinds=("text",),
                   description="TF-IDF of token unigrams and bigrams + logistic regression "
                               f"(L2, C=1, at most {TFIDF_MAX_ITER} iterations), on every "
                               "training row")
def tfidf_logistic(data: PreparedData, inputs: Sequence[np.ndarray],
                   options: dict[str, Any]) -> list[np.ndarray]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(data.train.y)
    if len(np.unique(y)) < 2:
        raise BaselineSkipped("the training rows hold one class")
    vectorizer = TfidfVectorizer(analyzer=token_grams, sublinear_tf=True)

    def features(x: np.ndarray, fit: bool = False):
        ids, table = split_mixed(data.preprocess, np.asarray(x))
        grams = (vectorizer.fit_transform if fit else vectorizer.transform)(list(ids))
        return hstack([grams, csr_matrix(table)]).tocsr() if table.shape[1] else grams

    train = features(data.train.x, fit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a baseline: the cap is stated
        model = LogisticRegression(max_iter=TFIDF_MAX_ITER).fit(train, y)
    return [log_probabilities(model, features(part), data.num_outputs) for part in inputs]
