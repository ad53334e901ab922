"""Trainer overhead of two source trees, interleaved: ``bench/trainer_overhead.py``'s variants on
the tiny MLP (and optionally the digits CNN), one repeat at a time from each tree in turn.

    python bench/trainer_overhead_ab.py OLD_SRC NEW_SRC [--rounds 10] [--epochs 8] [--cnn]

Each tree runs in a process of its own (``PYTHONPATH=TREE``, this folder's
``trainer_overhead.py`` measuring), kept for the whole run; the driver asks them for one repeat
in turn, so load on a shared machine hits both alike. Per round and tree: every variant's
median ms/epoch (first epoch left out) and its ratio to that round's hand loop in the same
process; the table gives the medians over rounds. Example, main against a branch::

    git worktree add /tmp/main main
    python bench/trainer_overhead_ab.py /tmp/main/src src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, sys
import torch
sys.path.insert(0, sys.argv[1])
import trainer_overhead as bench
from honed.data import prepare_data
from honed.spec.schema import DataSpec
torch.set_num_threads(1)
cases = {
    "tiny MLP": (prepare_data(DataSpec(source="builtin:iris", split={"val": 0.2, "test": 0.2}),
                              seed=0), "mlp", {"hidden": 16, "depth": 1}, 8, 4),
}
if sys.argv[2] == "cnn":
    cases["digits CNN"] = (prepare_data(DataSpec(source="builtin:digits"), seed=0), "cnn",
                           {"channels": [32, 64], "hidden": 128}, 64, 1)
epochs = int(sys.argv[3])
print("ready", flush=True)
for line in sys.stdin:
    out = {}
    for name, (data, family, knobs, batch, factor) in cases.items():
        per_epoch, _ = bench.measure(family, knobs, data, epochs=epochs * factor, repeats=1,
                                     batch_size=batch, threads=1)
        out[name] = per_epoch
    print(json.dumps(out), flush=True)
"""


def start(src: str, cnn: bool, epochs: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(Path(__file__).parent.resolve()),
         "cnn" if cnn else "-", str(epochs)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert worker.stdout.readline().strip() == "ready"
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--cnn", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    workers = {"old": start(args.old, args.cnn, args.epochs),
               "new": start(args.new, args.cnn, args.epochs)}
    rounds: dict[str, list[dict]] = {"old": [], "new": []}
    for index in range(args.rounds):
        order = ["old", "new"] if index % 2 == 0 else ["new", "old"]
        for tree in order:
            workers[tree].stdin.write("go\n")
            workers[tree].stdin.flush()
            rounds[tree].append(json.loads(workers[tree].stdout.readline()))
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    for case in rounds["old"][0]:
        print(f"{case}: ms/epoch, and vs the hand loop of the same round (medians of "
              f"{args.rounds} rounds)")
        print(f"  {'':22}{'old ms':>9}{'old vs hand':>13}{'new ms':>9}{'new vs hand':>13}")
        for variant in rounds["old"][0][case]:
            cells = []
            for tree in ("old", "new"):
                times = [r[case][variant] for r in rounds[tree]]
                ratios = [r[case][variant] / r[case]["hand loop"] - 1 for r in rounds[tree]]
                cells += [f"{statistics.median(times) * 1e3:9.2f}",
                          f"{100 * statistics.median(ratios):+12.1f}%"]
            print(f"  {variant:22}{''.join(cells)}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
