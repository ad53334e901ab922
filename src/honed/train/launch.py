"""``train_distributed``: a DDP fit of a spec over N local processes (``honed train --nproc N``).

The parent checks the input (spec, data, run dir, the world against the data) before any
process starts, so that bad input fails once, with exit code 2, and writes nothing. It then
spawns N ranks (``torch.multiprocessing``, spawn start method) that join over 127.0.0.1 on a
free port and train with :func:`honed.train.session.train_spec`; rank 0 writes the run dir.
When a rank exits non-zero, the others get a grace period to notice (their collectives fail
at once when a peer's socket closes), then SIGTERM (rank 0 saves its last finished epoch),
then SIGKILL; the error names the rank that failed first.

Under torchrun (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` set) nothing is spawned: the process
is one rank already (:func:`run_rank`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from honed.cpu import sharing_env
from honed.errors import DistributedError, HonedError, UserInputError
from honed.interrupts import interrupt_on
from honed.rundir import RunDir
from honed.spec.schema import Spec
from honed.spec.template import SpecTemplate
from honed.train.distributed import check_world, default_timeout, has_batch_norm, process_group
from honed.train.session import TrainOutcome, check_run_dir, preflight, resolve_spec, train_spec
from honed.train.threads import pick_threads
from honed.train.trainer import FitResult

__all__ = ["train_distributed", "run_rank", "GRACE_SECONDS"]

#: how long the other ranks may take to stop on their own once one has failed
GRACE_SECONDS = 20.0


def train_distributed(spec: SpecTemplate | Spec, *, nproc: int, out_dir: str | Path,
                      resume: bool = False, progress: bool = True,
                      base_dir: str | Path | None = None, evaluate_test: bool = True,
                      timeout: float | None = None) -> TrainOutcome:
    """Train ``spec`` with DistributedDataParallel over ``nproc`` processes on this machine.

    Gives what :func:`~honed.train.session.train_spec` gives, read back from the run dir
    that rank 0 wrote (``result.extra`` is empty: the trainer lived in another process).
    ``nproc=1`` is exactly ``train_spec``. On CUDA each rank takes ``cuda:RANK``. ``timeout``:
    seconds a rank waits for a silent peer (default ``$HONED_DDP_TIMEOUT`` or 600).

    Raises:
        UserInputError: bad input, found before any process starts (nothing written).
        DistributedError: a rank failed; names it (its own message was printed above).
        KeyboardInterrupt: interrupted; rank 0 saved the last finished epoch.

    Example:
        >>> outcome = train_distributed(load_spec("digits.yaml"), nproc=2, out_dir="runs/d")
        >>> outcome.metrics["val"]["accuracy"]
    """
    if nproc < 1:
        raise UserInputError(f"--nproc must be at least 1; got {nproc}")
    if nproc == 1:
        return train_spec(spec, out_dir=out_dir, resume=resume, progress=progress,
                          base_dir=base_dir, evaluate_test=evaluate_test)
    import torch.multiprocessing as mp

    timeout = timeout or default_timeout()
    spec = resolve_spec(spec, base_dir)
    run = RunDir(out_dir)
    check_run_dir(run, spec, resume, world_size=nproc)
    data, model = preflight(spec)
    cuda = _check_gpus(spec, nproc)
    check_world(nproc, rows=len(data.train.y), batch_size=spec.train.batch_size,
                unfreeze_after=spec.model.unfreeze_after,
                local_norm=not cuda and has_batch_norm(model))
    del data, model
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc), **sharing_env(nproc)}
    if spec.train.threads == "auto" and not os.environ.get("OMP_NUM_THREADS"):
        env["OMP_NUM_THREADS"] = str(pick_threads("auto", workers=nproc).threads)
    options = {"out_dir": str(out_dir), "resume": resume, "progress": progress,
               "evaluate_test": evaluate_test}
    context = mp.start_processes(_spawned_rank, args=(spec, env, options, timeout),
                                 nprocs=nproc, join=False, start_method="spawn")
    try:
        while not context.join(grace_period=GRACE_SECONDS):
            pass
    except mp.ProcessExitedException as exc:
        raise _rank_failed(exc.error_index, nproc, exc.exit_code, exc.signal_name) from None
    except mp.ProcessRaisedException as exc:
        raise _rank_failed(exc.error_index, nproc, 1, None) from None
    except KeyboardInterrupt:
        _stop(context.processes)
        raise
    return _read_outcome(run)


def run_rank(train: Callable[..., Any], spec: Spec, *, rank: int, world_size: int,
             local_rank: int, timeout: float | None = None, **kwargs: Any) -> tuple[int, Any]:
    """Join the group, ``train(spec, distributed=context, **kwargs)``, leave; never raise.

    Returns ``(exit code, what train returned)``. Errors are printed on one line that names
    the rank, with the command line's exit codes: 2 bad input, 130 interrupted, 1 otherwise.
    """
    tag = f"honed train (rank {rank}/{world_size})"
    try:
        with process_group(spec.train.device, rank=rank, world_size=world_size,
                           local_rank=local_rank, timeout=timeout) as context:
            return 0, train(spec, distributed=context, **kwargs)
    except UserInputError as exc:
        print(f"{tag}: error: {_one_line(exc)}", file=sys.stderr, flush=True)
        return 2, None
    except KeyboardInterrupt:
        print(f"{tag}: interrupted", file=sys.stderr, flush=True)
        return 130, None
    except HonedError as exc:
        print(f"{tag}: {_one_line(exc)}", file=sys.stderr, flush=True)
        return 1, None
    except Exception:  # noqa: BLE001 - a bug: the traceback, then the rank's exit code
        traceback.print_exc()
        print(f"{tag}: failed (traceback above)", file=sys.stderr, flush=True)
        return 1, None


def _spawned_rank(rank: int, spec: Spec, env: dict[str, str], options: dict[str, Any],
                  timeout: float | None) -> None:
    os.environ.update(env, RANK=str(rank), LOCAL_RANK=str(rank))
    interrupt_on(signal.SIGINT, signal.SIGTERM, once=True)  # one KeyboardInterrupt: rank 0 saves
    code, _ = run_rank(train_spec, spec, rank=rank, world_size=int(env["WORLD_SIZE"]),
                       local_rank=rank, timeout=timeout, **options)
    exit_rank(code)


def exit_rank(code: int) -> NoReturn:
    """End a spawned rank with ``code`` and without the interpreter's teardown.

    In teardown a C++ thread of torch that still holds a tensor takes the GIL of a finalizing
    interpreter, and the rank aborts ("terminate called without an active exception", SIGABRT)
    after a fit that finished well: seen in CI. What the rank wrote is closed and synced by
    now; only the standard streams may still hold output.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _rank_failed(rank: int, nproc: int, code: int | None, signal_name: str | None) -> HonedError:
    how = f"was killed by {signal_name}" if signal_name else f"exited with code {code}"
    message = (f"rank {rank} of {nproc} {how}; the other ranks were stopped (the rank's own "
               "message, if any, is above)")
    return UserInputError(message) if code == 2 else DistributedError(message)


def _stop(processes) -> None:
    """Interrupted: let the ranks save and leave, then make sure they are gone."""
    for process in processes:
        if process.is_alive():
            process.terminate()  # a no-op for ranks that already got the terminal's SIGINT
    for process in processes:
        process.join(GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


def _check_gpus(spec: Spec, nproc: int) -> bool:
    """True when the ranks train on CUDA, which needs a GPU for each."""
    import torch

    from honed.train.precision import pick_device

    if pick_device(spec.train.device).type != "cuda":
        return False
    if torch.cuda.device_count() < nproc:
        raise UserInputError(f"--nproc {nproc} on CUDA needs {nproc} GPUs; this machine has "
                             f"{torch.cuda.device_count()}")
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_outcome(run: RunDir) -> TrainOutcome:
    metrics = json.loads(run.metrics.read_text())
    history = [json.loads(line) for line in run.history.read_text().splitlines() if line]
    result = FitResult(history=history, stop_reason=metrics["stop_reason"],
                       seconds=metrics["train_seconds"], epochs_run=metrics["epochs_run"],
                       best_epoch=metrics["best_epoch"])
    return TrainOutcome(run_dir=run, metrics=metrics, result=result)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
