"""The ``explain`` section: what ``honed explain`` and the explain stage of ``honed run`` compute."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honed.spec.sections.common import Section

__all__ = ["ExplainSpec"]


class ExplainSpec(Section):
    """``explain``: global importances and per-example attributions (``explain: {}`` takes the
    defaults; ``honed run`` explains when the section is set)."""

    method: Literal["auto", "integrated_gradients", "saliency", "occlusion", "feature_ablation",
                    "gradient_shap"] = Field(
        "auto", description="Captum method of the per-example attributions; `auto`: "
        "integrated_gradients for tables, sequences and text, occlusion for images. Text "
        "takes integrated_gradients (on the token embedding) or occlusion / feature_ablation "
        "(each token deleted). Text beside table columns: `auto` is feature_ablation (each token "
        "deleted, each column set to 0, its training mean under standard scaling), or "
        "integrated_gradients (on the token embedding and the columns).")
    samples: Annotated[int, Field(ge=10, le=100_000)] = Field(
        500, description="Test rows that permutation importance scores, or text's token "
        "deletion (a random subset when the test split is larger).")
    repeats: Annotated[int, Field(ge=1, le=100)] = Field(
        3, description="Permutations per input group. The 95% interval of an accuracy drop is "
        "over the test rows (any number of repeats); of other metrics, over the repeats (2 or "
        "more). Text deletes each token once and ignores it; text beside table columns "
        "permutes its columns this many times.")
    examples: Annotated[int, Field(ge=1, le=32)] = Field(
        2, description="Correct and wrong test examples per class (or in all, for regression) "
        "whose attributions are drawn.")
    steps: Annotated[int, Field(ge=4, le=1024)] = Field(
        64, description="Integration steps of integrated_gradients (and samples of "
        "gradient_shap, half as many); more steps, a smaller completeness error.")
