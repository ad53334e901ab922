"""``honed worker SPEC --storage URL``: join a running study from any machine."""

from __future__ import annotations

import argparse
import os
import signal
import time

from honed.cli.common import add_spec_arguments, default_out, err_console, sigterm_interrupts


def add_parser(commands) -> None:
    parser = commands.add_parser("worker", help="join a running study from any machine",
                                 description="Take trials of the study that honed tune started "
                                 "in --storage until it holds enough of them. Give it the spec "
                                 "and overrides that honed tune was given.")
    add_spec_arguments(parser)
    parser.add_argument("--storage", metavar="URL",
                        help="the study's storage (default: $HONED_STORAGE, which keeps a "
                        "password out of the process list)")
    parser.add_argument("--out", metavar="DIR",
                        help="where this worker writes its trials' folders (default runs/NAME)")
    parser.add_argument("--trials", type=int, help="stop when the study holds this many trials "
                        "(default: what honed tune was asked for)")
    parser.add_argument("--threads", type=int, help="torch threads for this worker")
    parser.add_argument("--wait", metavar="DURATION", default="0",
                        help="wait up to this long (e.g. 90s, 5m) for honed tune to create "
                        "the study, for workers started with it, as in a Slurm array or a "
                        "Kubernetes Job (default: not at all)")
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--coarse-until", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-dir", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import secrets

    import torch

    from honed.errors import UserInputError
    from honed.search.auto_lr import expand_auto_lr
    from honed.search.coarse_to_fine import coarse_until, run_coarse_to_fine
    from honed.search.storage import STORAGE_VARIABLE, check_storage
    from honed.search.study import TARGET, load_study, wait_for_study
    from honed.search.tune import prepare_study
    from honed.search.where import worker_label
    from honed.search.worker import work

    if args.parent is not None:
        _die_with_parent(args.parent)
    sigterm_interrupts()
    for flag in ("trials", "threads"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserInputError(f"--{flag} must be at least 1; got {getattr(args, flag)}")
    wait = _wait_seconds(args.wait)
    storage = args.storage or os.environ.get(STORAGE_VARIABLE)
    if not storage:
        raise UserInputError(f"honed worker needs the study's storage: --storage URL, or the "
                             f"URL in ${STORAGE_VARIABLE}")
    template = load_template_for_worker(args)
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # what train.threads: auto keeps
    out = default_out(args, template.default.name)
    check_storage(storage)  # before the LR range test below writes anything
    # lr: auto as honed tune expands it, or the study's fingerprint would not match (honed
    # tune's own workers get the expanded spec, study/space.yaml, and skip this)
    template = expand_auto_lr(template, run_dir=out)
    setup = prepare_study(template, out_dir=out, storage=storage, trials=args.trials)
    # workers that honed tune starts are numbered; one started by hand draws its own number,
    # or it would seed its sampler like worker 0 and repeat its first points
    index = args.index if args.index is not None else 1 + secrets.randbelow(100_000)
    if wait:
        wait_for_study(setup.url, setup.name, wait)  # then joined, or the usual "no study"
    study = load_study(setup.url, setup.name, pruner=setup.pruner(), raw_spec=template.raw)
    # seeded for the study's size: a continued study must not replay the first session's draws
    setup.use_sampler(study, index)
    trials = setup.limit(args.trials or study.user_attrs.get(TARGET) or setup.search.trials)
    deadline, phase_one_until = args.deadline, args.coarse_until
    if deadline is None and setup.search.timeout:
        deadline = time.time() + setup.search.timeout
        phase_one_until = coarse_until(deadline, setup.search.timeout,
                                       setup.search.coarse_fraction)
    label = worker_label(index)  # in every worker's log: which host and GPUs it ran on
    err_console.print(f"{label}: joined study {setup.name}", markup=False)
    if setup.search.strategy == "coarse-to-fine":
        run_coarse_to_fine(setup, study, deadline=deadline, worker=index, trials=trials,
                           phase_one_until=phase_one_until)
        err_console.print(f"{label}: done", markup=False)
        return 0
    ran = work(study, setup.objective(), trials=trials, deadline=deadline)
    err_console.print(f"{label}: ran {ran} trial(s)", markup=False)
    return 0


def _wait_seconds(text: str) -> float:
    from honed.errors import UserInputError
    from honed.spec.duration import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UserInputError(f"--wait: {exc}") from None


def load_template_for_worker(args: argparse.Namespace):
    """The spec, with relative data paths read from --base-dir when the coordinator gives it."""
    from honed.cli.common import load_template

    template = load_template(args)
    if args.base_dir:
        import dataclasses
        from pathlib import Path

        template = dataclasses.replace(template, base_dir=Path(args.base_dir))
    return template


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the coordinator dies (even by SIGKILL); elsewhere a no-op."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the coordinator died before the request took effect
        raise SystemExit(130)
