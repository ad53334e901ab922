"""What a trial pays to train as a 2-process DDP group (gloo, CPU): the children's start-up.

Times ``fit`` and ``fit_in_group(nproc=2)`` of the same tiny iris spec, interleaved, and
prints each pair and the median difference (the spawn, import and group join of the child,
which a K-GPU trial pays once per fit). Run:
``PYTHONPATH=src OMP_NUM_THREADS=1 python bench/trial_group_overhead.py``
"""

from __future__ import annotations

import statistics
import time

from honed.data import make_augment, prepare_data
from honed.spec.template import spec_from_dict
from honed.train.fit import fit
from honed.train.group_fit import SpecData, fit_in_group
from honed.train.session import build_model

SPEC = {"name": "bench", "data": {"source": "builtin:iris", "scale": "standard"},
        "model": {"family": "mlp", "hidden": 16, "depth": 2},
        "train": {"epochs": 2, "batch_size": 13, "threads": 1, "device": "cpu",
                  "probes": False, "optimizer": {"name": "adam", "lr": 0.01}}}


def main(rounds: int = 3) -> None:
    spec = spec_from_dict(SPEC).default
    data = prepare_data(spec.data, seed=spec.seed)
    augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                           num_classes=data.num_classes, scaler=data.preprocess.get("scaler"))
    options = {"train": spec.train, "seed": spec.seed, "augment": augment}
    pairs = []
    for _ in range(rounds):
        began = time.perf_counter()
        fit(build_model(spec, data), data, **options)
        one = time.perf_counter() - began
        began = time.perf_counter()
        fit_in_group(build_model(spec, data), data, nproc=2, source=SpecData.of(spec), **options)
        two = time.perf_counter() - began
        pairs.append((one, two))
        print(f"fit {one:.2f}s  fit_in_group(nproc=2) {two:.2f}s")
    print(f"median overhead of the group: {statistics.median(b - a for a, b in pairs):.2f}s")


if __name__ == "__main__":
    main()
