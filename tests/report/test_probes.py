"""The Probes callback: consistent on resume, never changes training, off on request."""

from __future__ import annotations

import json

from honed.train import fit
from tests.helpers import blobs, tiny_net

SETTINGS = {"optimizer": {"name": "adam", "lr": 1e-2}, "batch_size": 16}


def test_resumed_run_writes_the_same_probes(tmp_path):
    data = blobs()
    straight = fit(tiny_net(), data, epochs=4, out_dir=tmp_path / "a", **SETTINGS)
    fit(tiny_net(), data, epochs=2, out_dir=tmp_path / "b", **SETTINGS)
    # an epoch that ran after the last checkpoint is dropped from probes.jsonl on resume
    with open(tmp_path / "b" / "probes.jsonl", "a") as handle:
        handle.write(json.dumps({"epoch": 3, "stale": True}) + "\n")
    resumed = fit(tiny_net(), data, epochs=4, out_dir=tmp_path / "b", resume=True, **SETTINGS)
    assert (tmp_path / "a" / "probes.jsonl").read_text() == \
        (tmp_path / "b" / "probes.jsonl").read_text()
    assert _curves(straight.history) == _curves(resumed.history)


def test_probes_do_not_change_training(tmp_path):
    data = blobs()
    with_probes = fit(tiny_net(), data, epochs=3, out_dir=tmp_path / "a", **SETTINGS)
    without = fit(tiny_net(), data, epochs=3, out_dir=tmp_path / "b", probes=False, **SETTINGS)
    assert _curves(with_probes.history) == _curves(without.history)
    assert not (tmp_path / "b" / "probes.jsonl").exists()


def test_a_diverging_fit_leaves_a_stopped_line(tmp_path):
    import pytest

    from honed.errors import NonFiniteLossError

    with pytest.raises(NonFiniteLossError):
        fit(tiny_net(), blobs(), epochs=6, out_dir=tmp_path, batch_size=16,
            optimizer={"name": "sgd", "lr": 10})
    last = json.loads((tmp_path / "probes.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "stopped" and "NonFiniteLossError" in last["error"]
    assert last["recent_losses"]


def _curves(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]
