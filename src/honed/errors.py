"""Exceptions raised by honed.

Every error that a user can fix (a bad spec, a bad file, a bad argument) derives from
:class:`UserInputError`; the command line prints its message on one line and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "HonedError",
    "UserInputError",
    "SpecError",
    "DataError",
    "ModelError",
    "CheckpointError",
    "TrainingError",
    "NonFiniteLossError",
    "DistributedError",
    "CompressError",
    "ExportError",
    "BundleError",
]


class HonedError(Exception):
    """Root of every exception raised on purpose by honed."""


class UserInputError(HonedError):
    """Bad input the user can fix: the CLI prints the message and exits with code 2."""


class SpecError(UserInputError, ValueError):
    """The spec is malformed; ``errors`` holds every problem found, one line each."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return f"spec error: {self.errors[0]}"
        return f"{len(self.errors)} spec errors: " + "; ".join(self.errors)


class DataError(UserInputError, ValueError):
    """A data source cannot be read or does not fit the spec (names file and row)."""


class ModelError(UserInputError, ValueError):
    """A model family is unknown or its knobs do not fit the data."""


class CheckpointError(UserInputError, ValueError):
    """A checkpoint or weights file is missing, corrupt, or does not fit the model."""


class TrainingError(HonedError, RuntimeError):
    """Training could not go on."""


class NonFiniteLossError(TrainingError):
    """The loss became NaN or infinite; no checkpoint is written from that state."""


class DistributedError(TrainingError):
    """A distributed fit lost a rank, or its process group broke; names the rank."""


class CompressError(HonedError, RuntimeError):
    """Compression could not produce a model (e.g. no variant stays within the budget)."""


class ExportError(HonedError, RuntimeError):
    """An exported model failed verification; no bundle is written."""


class BundleError(UserInputError, ValueError):
    """A bundle is missing a file, is corrupt, or its files do not match card.json."""
