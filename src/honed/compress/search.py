"""The accuracy-budgeted search: a multi-objective Optuna study over compression settings.

Each trial builds one variant (an optionally distilled student of a searched width, T and
alpha, then pruned by a searched method and amount, then optionally quantized) and reports
three objectives: the metric on the validation split (max), ONNX Runtime latency at batch 64
relative to the run's own model timed in the same interleaved rounds (min) and size on disk
(min). The budget is a constraint, ``drop - se - max_drop <= 0`` on val (the drop read with
its noise, :mod:`honed.compress.budget`), set with
Optuna 5's ``trial.set_constraint`` (which replaced the samplers' ``constraints_func``), so NSGA-II
and TPE rank infeasible trials behind feasible ones and ``study.best_trials`` holds feasible
trials only. That Pareto set comes back as ready candidates; the test split is not read here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from honed.compress.budget import judge, source_val
from honed.compress.candidates import (
    Candidate,
    Source,
    distill_candidate,
    float_onnx,
    prune_candidate,
    quantize_candidate,
)
from honed.spec.schema import CompressSpec, PruneSpec, QuantizeSpec

__all__ = ["compress_search", "SEARCH_TIMING"]

#: latency inside the search is a ranking signal: fewer rounds than the final table
SEARCH_TIMING = {"rounds": 3, "repeats": 10, "warmup": 2, "budget_s": 0.1}
SEARCH_BATCH = 64  # the batch the final choice is made on


def _feasible(trial) -> bool:
    return all(value <= 0 for value in (trial.constraints or {}).values())


def _sampler(compress: CompressSpec, seed: int):
    import optuna

    search = compress.search
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          n_startup_trials=max(2, min(10, search.trials // 3)))
    # NSGA-II's first generation is random: keep it a fraction of the budget
    return optuna.samplers.NSGAIISampler(population_size=max(4, min(50, search.trials // 3)),
                                         seed=seed)


def _latency_and_size(source: Source, candidate: Candidate, scratch: Path,
                      baseline: Path) -> tuple[float, int]:
    """The candidate's batch-64 latency relative to the baseline's, both timed in the same
    interleaved rounds (see :mod:`honed.compress.timing`), and its size on disk."""
    from honed.compress.measure import size_bytes
    from honed.compress.timing import median_speedup, onnx_samples

    path = candidate.onnx_path
    if candidate.kind == "torch":
        import safetensors.torch

        from honed.models.saving import _flat_state

        path = float_onnx(source, candidate, scratch)
        size = len(safetensors.torch.save(_flat_state(candidate.module.state_dict())[0]))
    else:
        size = size_bytes(path)
    samples = onnx_samples({"baseline": baseline, "trial": path}, source.input_shape,
                           batches=[SEARCH_BATCH], threads=source.threads,
                           **SEARCH_TIMING)[SEARCH_BATCH]
    return 1 / median_speedup(samples["baseline"], samples["trial"]), size


def compress_search(source: Source, compress: CompressSpec, scratch: Path, *,
                    note: Callable[[str], None] = lambda text: None) -> list[Candidate]:
    """Run the study; return the feasible Pareto set as candidates named ``search-NNN``.

    Also leaves every trial's values in ``source.extra["search"]`` for compress.json.
    """
    import optuna

    from honed.compress.structured import STRUCTURED_FAMILIES

    search = compress.search
    methods = [m for m in search.methods
               if m != "structured" or source.record["family"] in STRUCTURED_FAMILIES]
    if len(methods) < len(search.methods):
        note(f"search: structured pruning left out ({source.record['family']} models are not "
             "supported)")
    methods = methods or ["none"]
    prune = compress.prune or PruneSpec()
    quantize = compress.quantize or QuantizeSpec()
    baseline = source_val(source)
    made: dict[int, Candidate] = {}
    base_onnx = float_onnx(source, Candidate("baseline", "torch", "none", module=source.model),
                           scratch / "baseline")

    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        candidate = Candidate("baseline", "torch", "none", module=source.model)
        if compress.distill is not None:
            candidate = distill_candidate(
                source, compress.distill, teacher=source.teacher,
                width=trial.suggest_categorical("width", list(search.width)),
                temperature=trial.suggest_float("temperature", *search.temperature),
                alpha=trial.suggest_float("alpha", *search.alpha), name="student")
        method = trial.suggest_categorical("prune", methods)
        if method != "none":
            amount = trial.suggest_float("amount", *search.amount)
            spec = prune.model_copy(update={"method": method, "amount": amount})
            candidate = prune_candidate(source, spec, base=candidate, name="pruned")
        mode = trial.suggest_categorical("quantize", list(search.quantize))
        if mode != "none":
            candidate = quantize_candidate(source, candidate, quantize,
                                           scratch / f"trial-{trial.number:03d}", mode=mode)
        verdict = judge(source, candidate)
        value = verdict.value
        latency, size = _latency_and_size(source, candidate,
                                          scratch / f"trial-{trial.number:03d}", base_onnx)
        if source.max_drop is not None:
            trial.set_constraint("drop", verdict.excess)
        trial.set_user_attr("drop", verdict.drop)
        trial.set_user_attr("se", verdict.se)
        made[trial.number] = candidate
        note(f"search: trial {trial.number}: {trial.params} -> val {source.metric} {value:.4f}, "
             f"{latency:.2f}x the baseline's time at batch {SEARCH_BATCH}, "
             f"{size / 1e3:.1f} kB")
        return value, latency, float(size)

    directions = ["maximize" if source.higher_is_better else "minimize", "minimize", "minimize"]
    seed = search.seed if search.seed is not None else source.spec.seed
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress goes through ``note``
    try:
        study = optuna.create_study(directions=directions, sampler=_sampler(compress, seed))
        study.optimize(objective, n_trials=search.trials, timeout=search.timeout)
    finally:
        optuna.logging.set_verbosity(verbosity)
    pareto = {t.number for t in study.best_trials if _feasible(t)}
    source.extra["search"] = {
        "sampler": search.sampler, "baseline_val": baseline, "pareto": sorted(pareto),
        "trials": [{"number": t.number, "params": t.params, "values": t.values,
                    "drop": t.user_attrs.get("drop"), "se": t.user_attrs.get("se"),
                    "feasible": _feasible(t),
                    "pareto": t.number in pareto}
                   for t in study.trials if t.values is not None]}
    out = []
    for number in sorted(pareto):
        candidate = made[number]
        trial = study.trials[number]
        candidate.name = f"search-{number:03d}"
        candidate.settings = {**_plain(trial.params), "trial": number,
                              # the trial's objectives (val metric, latency against the
                              # baseline in the search's short rounds, size)
                              "objectives": dict(zip(("val_metric", "relative_latency",
                                                      "size_bytes"), trial.values, strict=True))}
        out.append(candidate)
    return out


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
