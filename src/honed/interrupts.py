"""Ctrl-C and SIGTERM that are never lost.

Python turns a signal into ``KeyboardInterrupt`` wherever the main thread happens to be. When
that is a finalizer (a ``__del__``, or a weakref callback such as SQLAlchemy's
``InstanceState._cleanup``, which the garbage collector may run between any two bytecodes),
Python prints "Exception ignored in ..." and carries on: the interruption is gone, and ``honed
tune`` once went on to finish its study after Ctrl-C.

The handlers installed here also record the signal, and the long loops call
:func:`raise_if_interrupted` at their safe points (each training step, each trial, each
stage), which raises it again there. The command line records within
:func:`handling_interrupts`, which restores the handlers and forgets the record when it ends, so
that a process going on after an interruption (a test calling ``main``) inherits nothing.
Outside it (a library user's own ``train_spec``) nothing is recorded and nothing changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["handling_interrupts", "interrupt_on", "raise_if_interrupted"]

_recorded = False


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a signal was recorded: one a finalizer swallowed."""
    if _recorded:
        raise KeyboardInterrupt


def interrupt_on(*signums: int, once: bool = False) -> None:
    """Make each of ``signums`` raise ``KeyboardInterrupt`` in the main thread, and record it.

    ``once``: after the first, SIGINT and SIGTERM are ignored, so that nothing cuts short what
    the interrupted command saves. Ignored by a Python handler, not ``SIG_IGN``: a signal
    already pending when the first one is handled (the terminal's SIGINT, then a launcher's
    SIGTERM) would otherwise surface as ``OSError: Signal 15 ignored due to race condition``.
    """
    def ignore(signum, frame):
        pass

    def interrupt(signum, frame):
        global _recorded
        _recorded = True
        if once:
            signal.signal(signal.SIGTERM, ignore)
            signal.signal(signal.SIGINT, ignore)
        raise KeyboardInterrupt

    for signum in signums:
        signal.signal(signum, interrupt)


@contextmanager
def handling_interrupts() -> Iterator[None]:
    """Within the block Ctrl-C interrupts and is recorded; after it, handlers are as before.

    Off the main thread (where Python cannot set handlers) the block changes nothing.
    """
    global _recorded
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    interrupt_on(signal.SIGINT)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        _recorded = False
