"""Streaming a Parquet table by row groups: training under a memory limit, and epoch time.

    python bench/parquet_stream.py [--part a|b|all] [--rows 400000] [--columns 16]
                                   [--group 10000] [--epoch-rows 40000] [--rounds 3]
                                   [--json F]

(a) ``limit``: a generated table of ``--rows`` x ``--columns`` float64 numbers (plus a binary
    label), written with ``--group`` rows per row group. A child process imports torch, trains
    a tiny table first (every lazy import done), then caps its address space (``RLIMIT_AS``)
    at its size plus half the table's float64 size, and prepares, trains one epoch and predicts
    the test split; with ``data.stream: true``, ``auto`` (which must choose to stream) and
    ``false`` (which must fail; a child still running after ``--child-timeout`` seconds is
    killed). Reported: peak RSS (``ru_maxrss``) against the data size, and
    the prepare and epoch seconds.
(b) ``epoch``: ``--epoch-rows`` rows of the same kind (small enough for memory): seconds per
    training epoch in memory, streamed with 0 workers and with 1 worker, interleaved over
    ``--rounds`` rounds (median), and the ratio streamed / in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from capped import add_child_options, cap_above_now, memory_error, run_parts, status

BATCH = 512


def write_table(path: Path, rows: int, columns: int, group: int) -> int:
    """The table, written a row group at a time (never whole in memory); its float64 bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    weights = rng.normal(size=columns)
    names = [f"x{i}" for i in range(columns)]
    writer = None
    for start in range(0, rows, group):
        values = rng.normal(size=(min(group, rows - start), columns)) * 10 + 3
        label = (values @ weights > 30 * weights.sum()).astype(np.int64)
        table = pa.table({**{n: values[:, i] for i, n in enumerate(names)}, "label": label})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=group)
    writer.close()
    return rows * columns * 8


def mlp(width: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(width, 32), nn.ReLU(), nn.Linear(32, 2))


def prepare(path: str, stream, workers: int):
    from honed.data import prepare_data
    from honed.spec.schema import DataSpec

    return prepare_data(DataSpec(source=path, target="label", stream=stream, workers=workers),
                        seed=0)


def part_limit(args, tmp: Path) -> dict:
    path = tmp / "big.parquet"
    data_bytes = write_table(path, args.rows, args.columns, args.group)
    write_table(tmp / "warm.parquet", 2000, args.columns, 500)
    limit = data_bytes // 2
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    results = {}
    for stream in ("true", "auto", "false"):
        command = [sys.executable, __file__, "--child", str(path), "--child-stream", stream,
                   "--child-limit", str(limit)]
        try:  # pyarrow's reader under the cap has been seen to fail, and once to hang
            done = subprocess.run(command, capture_output=True, text=True, env=env,
                                  check=False, timeout=args.child_timeout)
        except subprocess.TimeoutExpired:
            results[stream] = {"ok": False, "error": f"hung: killed after {args.child_timeout} s"}
            print(f"(a) data.stream {stream:5}: failed: {results[stream]['error']}", flush=True)
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        outcome = json.loads(lines[-1]) if lines else {
            "ok": False, "error": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
        outcome["returncode"] = done.returncode
        results[stream] = outcome
        peak = outcome.get("peak_rss")
        print(f"(a) data.stream {stream:5}: {'completed' if outcome.get('ok') else 'failed'}; "
              f"float64 table {data_bytes / 2**20:.0f} MiB ({args.rows} x {args.columns}, "
              f"{args.group} rows a group), limit {limit / 2**20:.0f} MiB over the process "
              "after imports"
              + (f", peak RSS {peak / 2**20:.0f} MiB (after imports "
                 f"{outcome['rss_before'] / 2**20:.0f} MiB), streamed {outcome['streamed']}, "
                 f"prepare {outcome['prepare_s']:.1f} s, epoch {outcome['epoch_s']:.1f} s"
                 if outcome.get("ok") else f": {outcome.get('error', '')}"), flush=True)
    return {"rows": args.rows, "columns": args.columns, "group": args.group,
            "data_bytes": data_bytes, "limit_bytes": limit, "runs": results}


def child(path: str, stream: str, limit: int) -> None:
    """Under an address-space cap: prepare, train one epoch, predict; one JSON line out."""
    import torch

    from honed.train import fit
    from honed.train.evaluate import predict

    torch.set_num_threads(1)
    setting = {"true": True, "false": False}.get(stream, stream)
    warm = prepare(str(Path(path).with_name("warm.parquet")), True, 0)
    fit(mlp(warm.input_shape[0]), warm, epochs=1, batch_size=BATCH, threads=1, probes=False)
    rss_before = status("VmRSS")
    cap_above_now(limit)
    prepare_s = epoch_s = 0.0
    try:
        start = time.perf_counter()
        data = prepare(path, setting, 0)
        prepare_s = time.perf_counter() - start
        model = mlp(data.input_shape[0])
        start = time.perf_counter()
        fit(model, data, epochs=1, batch_size=BATCH, threads=1, probes=False)
        epoch_s = time.perf_counter() - start
        outputs = predict(model, data.test.x)
        streamed = type(data.train.x).__name__ == "LazyInputs"
        ok, error = len(outputs) == len(data.test), ""
    except MemoryError as failure:
        ok, streamed, error = False, None, memory_error(failure)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"ok": ok, "streamed": streamed, "error": error, "peak_rss": own,
                      "rss_before": rss_before, "prepare_s": prepare_s, "epoch_s": epoch_s}),
          flush=True)


def part_epoch(args, tmp: Path) -> dict:
    from honed.train import fit

    path = tmp / "epoch.parquet"
    write_table(path, args.epoch_rows, args.columns, args.group)
    settings = {"memory": (False, 0), "streamed_0_workers": (True, 0),
                "streamed_1_worker": (True, 1)}
    datas = {name: prepare(str(path), *setting) for name, setting in settings.items()}
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, data in datas.items():
            start = time.perf_counter()
            fit(mlp(data.input_shape[0]), data, epochs=1, batch_size=BATCH, threads=1,
                probes=False)
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"(b) {name:19}: {seconds:.2f} s per epoch ({args.epoch_rows} rows, batch "
              f"{BATCH}, {args.group} rows a group), x{seconds / medians['memory']:.1f} of "
              "in memory", flush=True)
    return {"rows": args.epoch_rows, "group": args.group, "seconds": times, "median": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "all"], default="all")
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--group", type=int, default=10_000)
    parser.add_argument("--epoch-rows", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child-timeout", type=int, default=900)
    add_child_options(parser)
    args = parser.parse_args()
    run_parts(args, {"a": part_limit, "b": part_epoch}, child)


if __name__ == "__main__":
    main()
