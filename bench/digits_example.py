"""The digits CNN example end to end: test accuracy and wall time on this machine.

    python bench/digits_example.py [--seeds 3]

Target: at least 97% test accuracy in under 60 s on 2 cores. Runs `honed train` in a fresh
process per seed (so import and data preparation are counted) into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            out = Path(folder) / f"seed{seed}"
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "honed.cli.main", "train", str(EXAMPLE),
                            f"seed={seed}", "--out", str(out), "--quiet"], check=True,
                           capture_output=True)
            wall = time.perf_counter() - began
            metrics = json.loads((out / "metrics.json").read_text())
            rows.append((seed, metrics["test"]["accuracy"], metrics["train_seconds"], wall))
    print("seed  test accuracy  train s  wall s (incl. start-up)")
    for seed, accuracy, train_s, wall in rows:
        print(f"{seed:4d}  {accuracy:13.4f}  {train_s:7.1f}  {wall:6.1f}")
    worst = min(r[1] for r in rows)
    slowest = max(r[3] for r in rows)
    print(f"worst accuracy {worst:.4f} (target >= 0.97), slowest wall {slowest:.1f}s "
          "(target < 60 s)")


if __name__ == "__main__":
    main()
