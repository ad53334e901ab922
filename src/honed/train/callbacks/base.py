"""The callback contract: plain hooks the trainer calls, each a no-op by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from honed.train.trainer import Trainer

__all__ = ["Callback"]


class Callback:
    """Base class of every training callback.

    Subclasses override the hooks they need. ``state_dict``/``load_state_dict`` carry whatever a
    callback must remember across an exact resume (JSON types only: it goes into the checkpoint's
    JSON header).
    """

    #: Callbacks run in ascending ``order``; checkpointing runs last so that it saves the state
    #: every other callback left at the end of the epoch.
    order: int = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once before the first epoch (also after a resume)."""

    def on_epoch_start(self, trainer: Trainer) -> None:
        """Called before each training epoch; ``trainer.epoch`` is the epoch about to run."""

    def on_batch_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        """Called after each optimizer step with the batch loss (a 0-d tensor); its value as
        a float is ``trainer.loss_value`` (read once per step by the trainer: no second sync)."""

    def on_validation_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """Called after validation with the epoch record (``record['val']`` holds the metrics)."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """Called at the end of each epoch, after validation, with the complete record."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called once after training stops, whatever the reason."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable state saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def overrides(self, hook: str) -> bool:
        """True when this callback implements ``hook`` (lets the hot loop skip empty calls)."""
        return getattr(type(self), hook) is not getattr(Callback, hook)
