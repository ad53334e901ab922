"""The epoch display: the monitored metric first, whole, within 80 columns."""

from __future__ import annotations

import io

from rich.console import Console

from honed.train import fit
from honed.train.callbacks import ProgressBar
from tests.helpers import blobs, tiny_net


def _fit_into(console: Console) -> str:
    fit(tiny_net(), blobs(), epochs=2, monitor="val.f1", callbacks=[ProgressBar(console)])
    return console.export_text()


def test_terminal_bars_show_the_monitored_metric_first_in_80_columns():
    console = Console(width=80, record=True, force_terminal=True, file=io.StringIO())
    text = _fit_into(console)
    # the recording keeps every refresh without the cursor moves: the last frame is what
    # stays on the terminal, from the last "epochs" bar on
    final = "epochs" + text.rsplit("epochs", 1)[1]
    lines = final.rstrip("\n").splitlines()
    assert lines[0].startswith("epochs ") and "2/2" in lines[0], final
    assert lines[1].startswith("batches "), final
    assert lines[2].startswith("val.f1 ") and "train.loss" in lines[2], final
    assert all(len(line) <= 80 for line in lines) and "…" not in final, final


def test_log_lines_show_the_monitored_metric_first_in_80_columns():
    console = Console(width=80, record=True, file=io.StringIO())  # not a terminal: one line each
    header, *lines = _fit_into(console).splitlines()
    assert header.startswith("device cpu, "), header  # where the fit runs, then one line an epoch
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    for line in lines:
        assert line.split("  ")[1].startswith("val.f1 "), line
        assert len(line) <= 80 and line.endswith("s)"), line
