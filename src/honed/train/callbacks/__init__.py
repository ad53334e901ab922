"""Training callbacks: plain hooks carrying everything optional in a fit."""

from honed.train.callbacks.base import Callback
from honed.train.callbacks.checkpoint import Checkpoint
from honed.train.callbacks.early_stopping import EarlyStopping
from honed.train.callbacks.ema import EMA
from honed.train.callbacks.history import HistoryLogger
from honed.train.callbacks.probes import Probes
from honed.train.callbacks.progress import ProgressBar
from honed.train.callbacks.unfreeze import Unfreeze

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "EMA", "HistoryLogger", "ProgressBar",
           "Probes", "Unfreeze"]
