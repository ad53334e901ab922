"""Interpretability: which inputs drive a model, globally and per prediction.

- :func:`explain_run`: a run dir's global importances, example attributions and sanity checks
  (``honed explain RUN_DIR``), or one attribution per row of an input file.
- :func:`permutation_importance`: the metric drop when each input group is shuffled.
- :func:`attribute`: Captum attributions (integrated gradients, saliency, occlusion /
  feature ablation, gradient SHAP) of a batch of inputs.
- :mod:`honed.explain.sanity`: top-k recovery, weight randomization, completeness.
- :data:`KINDS`: one strategy per input kind (tables, images, sequences).

Names are imported on first use: :mod:`honed.explain.kinds` serves ``honed serve``'s
``/v1/explain``, which must not import torch.
"""

from honed._lazy import lazy_attributes

_LAZY = {
    "explain_run": "honed.explain.run", "Explanation": "honed.explain.run",
    "EXPLAIN_DIR": "honed.explain.run",
    "permutation_importance": "honed.explain.importance",
    "attribute": "honed.explain.attributions", "Attributions": "honed.explain.attributions",
    "METHODS": "honed.explain.attributions",
    "KINDS": "honed.explain.kinds", "input_kind": "honed.explain.kinds",
    "topk_recovery": "honed.explain.sanity", "randomization_check": "honed.explain.sanity",
    "completeness_check": "honed.explain.sanity",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
