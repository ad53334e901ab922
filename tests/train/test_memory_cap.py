"""A streamed image folder trains under an address-space cap smaller than its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import ROOT

CHILD = textwrap.dedent("""
    import json, resource, sys
    import torch
    from torch import nn
    from honed.data import prepare_data
    from honed.spec.schema import DataSpec
    from honed.train import fit
    from honed.train.evaluate import predict

    torch.set_num_threads(1)

    def run(folder, stream):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(4, 2))
        data = prepare_data(DataSpec(source=folder, stream=stream, workers=0), seed=0)
        fit(model, data, epochs=1, batch_size=32, threads=1, probes=False)
        return data, predict(model, data.test.x)

    folder, cap = sys.argv[1], int(sys.argv[2])
    run(folder + "/warm", True)  # every lazy import happens before the cap
    size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + cap, resource.RLIM_INFINITY))
    outcome = {}
    for stream in ("auto", False):
        try:
            data, outputs = run(folder + "/big", stream)
            outcome[str(stream)] = [type(data.train.x).__name__, len(outputs) == len(data.test)]
        except MemoryError:
            outcome[str(stream)] = "MemoryError"
    print(json.dumps(outcome))
""")


def write_pngs(folder, count, side):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        label = ("a", "b")[i % 2]
        (folder / label).mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / label / f"{i}.png", compress_level=1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_a_folder_twice_the_memory_cap_trains_when_streamed(tmp_path):
    write_pngs(tmp_path / "warm", 20, 48)
    count, side = 1200, 48
    write_pngs(tmp_path / "big", count, side)
    data_bytes = count * 3 * side * side * 4  # the float32 model inputs: 33 MB
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(data_bytes // 2)],
                          capture_output=True, text=True, env=env, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.splitlines()[-1])
    # auto sees the cap and streams, and completes; reading it all into memory cannot
    assert outcome == {"auto": ["LazyInputs", True], "False": "MemoryError"}
