"""A Ctrl-C that lands in a finalizer is not lost, and the command line leaves no handler behind.

Python prints "Exception ignored" for a ``KeyboardInterrupt`` raised inside a ``__del__`` or a
weakref callback and goes on; ``honed tune`` once finished its whole study after such a Ctrl-C
(the signal had landed in SQLAlchemy's ``InstanceState._cleanup``).
"""

from __future__ import annotations

import signal
import sys

import pytest
import yaml

from honed.cli.main import main
from honed.interrupts import handling_interrupts, raise_if_interrupted
from honed.train import fit
from honed.train.callbacks import Callback
from tests.helpers import blobs, tiny_net


class CtrlCInFinalizer:
    """Delivers SIGINT while Python runs this object's finalizer, as the garbage collector may."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the handler runs here, inside __del__


@pytest.fixture
def swallowed(monkeypatch):
    """What Python's "Exception ignored" hook received (it would print it)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_a_swallowed_interrupt_is_raised_again_at_the_next_safe_point(swallowed):
    with handling_interrupts():
        CtrlCInFinalizer()  # dropped at once: its finalizer runs and swallows the interrupt
        assert [hook.exc_type for hook in swallowed] == [KeyboardInterrupt]
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()


def test_training_stops_at_the_step_after_a_swallowed_interrupt(swallowed):
    class InterruptOnce(Callback):
        def on_batch_end(self, trainer, loss):
            if trainer.step == 2:
                CtrlCInFinalizer()

    steps = []

    class Steps(Callback):
        def on_batch_end(self, trainer, loss):
            steps.append(trainer.step)

    with handling_interrupts(), pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), blobs(), epochs=3, batch_size=16, callbacks=[InterruptOnce(), Steps()])
    assert [hook.exc_type for hook in swallowed] == [KeyboardInterrupt]
    assert steps == [1, 2]


def test_outside_the_command_line_nothing_is_recorded(swallowed):
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):  # Python's own handler, which honed leaves alone
        signal.raise_signal(signal.SIGINT)
    raise_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is previous


def test_the_command_line_restores_handlers_and_forgets_the_record(tmp_path, swallowed):
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "restore", "data": {"source": "builtin:iris"},
        "model": {"family": "mlp", "hidden": 8}, "train": {"epochs": 1, "probes": False}}))
    assert main(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert {signum: signal.getsignal(signum) for signum in before} == before
    with handling_interrupts():
        CtrlCInFinalizer()
    raise_if_interrupted()  # the block ended: the record went with it
    assert {signum: signal.getsignal(signum) for signum in before} == before
