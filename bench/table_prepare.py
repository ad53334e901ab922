"""Preparing a large CSV table: honed's ``prepare_data`` against a plain pandas read.

    python bench/table_prepare.py [--rows 500000] [--columns 50] [--rounds 3] [--json F]

A ``--rows`` x ``--columns`` float table with a binary label is written once to a temporary
CSV. Then, in turn for ``--rounds`` rounds (so that load on a shared machine hits each alike):

- ``pandas``: ``pd.read_csv(path)``, the C parser a user gets by default;
- ``pyarrow``: ``pd.read_csv(path, engine="pyarrow")``, the parser honed uses;
- ``honed``: ``prepare_data(DataSpec(source=path, target="label"))``: parse, check every
  column, split, fit the cleaning and scaling on the training split and apply it to all three.

Reported: seconds per round, the median for each, and the ratio of honed to each parser.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def write_table(path: Path, rows: int, columns: int, seed: int = 0) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, columns)).astype(np.float32),
                         columns=[f"f{i}" for i in range(columns)])
    frame["label"] = (frame["f0"] + frame["f1"] > 0).astype(int)
    frame.to_csv(path, index=False)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    import pandas as pd

    from honed.data import prepare_data
    from honed.spec.schema import DataSpec

    variants = {
        "pandas": lambda path: pd.read_csv(path),
        "pyarrow": lambda path: pd.read_csv(path, engine="pyarrow"),
        "honed": lambda path: prepare_data(DataSpec(source=str(path), target="label"), seed=0),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        write_table(path, args.rows, args.columns)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.rows} x {args.columns} CSV, {size_mb:.0f} MB")
        for round_index in range(args.rounds):
            order = list(variants)
            order = order[round_index % len(order):] + order[:round_index % len(order)]
            for name in order:
                began = time.perf_counter()
                variants[name](path)
                seconds[name].append(time.perf_counter() - began)
            print(f"round {round_index + 1}: " + ", ".join(
                f"{name} {seconds[name][-1]:.2f} s" for name in variants))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    result = {"rows": args.rows, "columns": args.columns, "size_mb": round(size_mb),
              "seconds": seconds, "median": median,
              "honed_over_pandas": median["honed"] / median["pandas"],
              "honed_over_pyarrow": median["honed"] / median["pyarrow"]}
    print(f"median: pandas {median['pandas']:.2f} s, pyarrow {median['pyarrow']:.2f} s, "
          f"honed {median['honed']:.2f} s; honed / pandas {result['honed_over_pandas']:.2f}x, "
          f"honed / pyarrow {result['honed_over_pyarrow']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
