"""Training: the loop, its callbacks, optimizers, schedules, metrics and checkpoints."""

from honed.train.evaluate import evaluate_arrays, predict
from honed.train.fit import fit, make_train_spec
from honed.train.launch import train_distributed
from honed.train.lr_find import LRFindResult, lr_find
from honed.train.metrics import compute_metrics, metric_mode, metrics_for_task
from honed.train.optim import create_optimizer, list_optimizers
from honed.train.run_eval import evaluate_run
from honed.train.schedules import create_schedule, list_schedules
from honed.train.session import TrainOutcome, train_spec
from honed.train.trainer import FitResult, Trainer

__all__ = [
    "fit",
    "make_train_spec",
    "Trainer",
    "FitResult",
    "train_spec",
    "train_distributed",
    "TrainOutcome",
    "evaluate_run",
    "evaluate",
    "evaluate_arrays",
    "predict",
    "lr_find",
    "LRFindResult",
    "compute_metrics",
    "metric_mode",
    "metrics_for_task",
    "create_optimizer",
    "list_optimizers",
    "create_schedule",
    "list_schedules",
]

evaluate = evaluate_run
