"""A tiny name → object registry, one per kind (optimizers, schedules, samplers, ...).

Every entry carries a one-line description so that ``honed list KIND`` prints a useful table,
and an unknown name fails with the list of valid choices (the CLI exits with code 2).

Example:
    >>> SCHEDULES = Registry("schedule")
    >>> @SCHEDULES.register("constant", description="the base learning rate throughout")
    ... def constant(step):
    ...     return 1.0
    >>> SCHEDULES.get("constant")(5)
    1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from honed.errors import UserInputError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind, kept in registration order.

    Args:
        kind: What the entries are, singular ("optimizer"); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, tuple[T, str]] = {}

    def register(self, name: str, *, description: str) -> Callable[[T], T]:
        """Decorator that registers its target under ``name`` and returns it unchanged."""

        def decorator(obj: T) -> T:
            self.add(name, obj, description=description)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, description: str) -> None:
        """Register ``obj`` under ``name``; a name may be registered only once."""
        if name in self._entries:
            # Silently replacing a built-in would change results without a trace.
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = (obj, description)

    def get(self, name: str) -> T:
        """The entry registered as ``name``.

        Raises:
            UserInputError: ``name`` is unknown; the message lists every valid name.
        """
        try:
            return self._entries[name][0]
        except KeyError:
            raise UserInputError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._entries)}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, str]]:
        """``(name, description)`` pairs, in registration order."""
        return [(name, description) for name, (_, description) in self._entries.items()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
