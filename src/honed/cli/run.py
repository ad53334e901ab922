"""``honed run SPEC [KEY=VALUE ...] [--out DIR] [--workers N] [--storage URL] [--trials N]
[--timeout DURATION]``: tune, refit the best trial, test once."""

from __future__ import annotations

import argparse

from honed.cli.common import (
    add_search_arguments,
    add_spec_arguments,
    console,
    default_out,
    err_console,
    load_template,
    metrics_table,
    print_baselines,
    search_options,
)


def add_parser(commands) -> None:
    parser = commands.add_parser("run", help="the whole pipeline: tune, refit, test once",
                                 description="Tune the spec's dimensions, refit the best trial "
                                 "(search.refit: best-trial or train+val), evaluate it once on "
                                 "the test split. Each stage is skipped when its output is "
                                 "already in the run dir, so the same command resumes.")
    add_spec_arguments(parser)
    add_search_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.pipeline import run as run_pipeline

    template = load_template(args)
    out = default_out(args, template.default.name)
    if not template.is_search:
        err_console.print("[yellow]note:[/] the spec has no search dimensions; honed run skips "
                          "tuning: it trains the spec as honed train does, then tests once")
    try:
        outcome = run_pipeline(template, out_dir=out, **search_options(args),
                               note=lambda text: err_console.print(
                                   f"note: {text}", markup=False, soft_wrap=True))
    except KeyboardInterrupt:
        err_console.print("\nhoned run: interrupted; finished stages and the study are kept, "
                          "run the same command to continue", markup=False)
        return 130
    metrics = outcome.metrics
    console.print(metrics_table(metrics, title=f"{template.default.name}: final metrics"))
    console.print(_summary(metrics), markup=False)
    print_baselines(metrics)
    console.print(f"run dir: {out}", markup=False)
    if (out / "report.html").is_file():
        console.print(f"report: {out / 'report.html'}", markup=False, soft_wrap=True)
    return 0


def _summary(metrics: dict) -> str:
    """Parameters, the trial picked and how the final model was made, one line each."""
    refit, best = metrics.get("refit") or {}, metrics.get("best_trial")
    lines = [f"{metrics.get('params', 0):,} parameters"]
    if best:
        values = ", ".join(f"{k} {v:.5g}" for k, v in best["values"].items())
        lines.append(f"best trial {best['number']}: {values}")
    if refit.get("mode") == "train+val":
        lines.append(f"refit: train+val for {refit.get('epochs')} epochs (val was seen in "
                     "training: its metrics are a record only)")
    elif refit.get("mode") == "best-trial":
        lines.append(f"refit: best trial ({refit.get('source')})")
    return "\n".join(lines)
