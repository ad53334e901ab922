"""Interpretability: which inputs drive a model, globally and per prediction.

- :func:`explain_run`: a run dir's global importances, example attributions and sanity checks
  (``honed explain RUN_DIR``), or one attribution per row of an input file.
- :func:`permutation_importance`: the metric drop when each input group is shuffled.
- :func:`attribute`: Captum attributions (integrated gradients, saliency, occlusion /
  feature ablation, gradient SHAP) of a batch of inputs.
- :mod:`honed.explain.sanity`: top-k recovery, weight randomization, completeness.
- :data:`KINDS`: one strategy per input kind (tables, images, sequences).
"""

from honed.explain.attributions import METHODS, Attributions, attribute
from honed.explain.importance import permutation_importance
from honed.explain.kinds import KINDS, input_kind
from honed.explain.run import EXPLAIN_DIR, Explanation, explain_run
from honed.explain.sanity import completeness_check, randomization_check, topk_recovery

__all__ = ["explain_run", "Explanation", "EXPLAIN_DIR", "permutation_importance", "attribute",
           "Attributions", "METHODS", "KINDS", "input_kind", "topk_recovery",
           "randomization_check", "completeness_check"]
