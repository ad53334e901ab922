"""Streaming data: throughput, training under a memory limit, and the cost on small data.

    python bench/streaming.py [--part a|b|c|d|all] [--images 800] [--rounds 3] [--workers 1]
                              [--json F]

(a) ``throughput``: ``--images`` photo-like JPEGs (160..640 px a side, from
    ``bench/image_decode.py``) brought to 64x64, streamed with ``data.stream: true``. Per
    round, interleaved: one training epoch of honed (``fit``: DataLoader workers decode, the
    trainer augments (flip + noise) and steps a small CNN), then the same epoch written by hand
    (a ``Dataset`` that opens, turns, converts, resizes and normalises each file; a shuffled
    ``DataLoader`` with the same workers and batch; the same flip + noise, CNN and AdamW).
    Timed from the epoch's start to its last optimizer step; reported as train images/s and
    the ratio honed / hand (goal >= 0.9).
(b) ``limit``: a generated folder of 64x64 PNGs whose float32 model inputs are about twice a
    memory limit. A child process imports torch, then caps its address space (``RLIMIT_AS``)
    at its size plus the limit, and trains one epoch and predicts the test split; run with
    ``data.stream: true``, ``auto`` (which must choose to stream) and ``false`` (which must
    fail). Reported: peak RSS (``ru_maxrss``, workers included) against the data size.
(c) ``small``: digits-sized data (scikit-learn's 1,797 8x8 digits, saved as an ``.npy``
    folder): median seconds per epoch in memory and streamed (forced, ``--workers``
    workers, and 0 workers), interleaved; and which path ``data.stream: auto`` takes.
(d) ``speed``: ``--images`` random 64x64 RGB images in memory, the small CNN trained 3 epochs
    plain, with ``train.channels_last`` and with ``train.compile``, interleaved; median seconds
    per epoch after the first (which pays compilation), and the first epoch with compile.
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

from honed.train.callbacks import Callback

BATCH = 64


def small_cnn(channels: int = 3, classes: int = 2, seed: int = 0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(channels, 16, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, classes))


class EpochTimer(Callback):
    """Seconds from each epoch's start to its last optimizer step (validation left out)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_epoch_start(self, trainer) -> None:
        self.began = time.perf_counter()

    def on_batch_end(self, trainer, loss) -> None:
        if trainer.step % trainer.steps_per_epoch == 0:
            self.seconds.append(time.perf_counter() - self.began)


def honed_epoch(data, augment, threads: int = 1) -> float:
    from honed.train import fit

    timer = EpochTimer()
    fit(small_cnn(), data, epochs=1, batch_size=BATCH, threads=threads, augment=augment,
        callbacks=[timer], probes=False)
    return timer.seconds[0]


def hand_epoch(files: list[str], labels: np.ndarray, scaler: dict, workers: int,
               size: tuple[int, int], seed: int) -> float:
    """The same epoch written by hand with torch's own DataLoader."""
    import torch
    from image_decode import pillow_image
    from torch.utils.data import DataLoader, Dataset

    center = np.asarray(scaler["center"], dtype=np.float32).reshape(3, 1, 1)
    scale = np.asarray(scaler["scale"], dtype=np.float32).reshape(3, 1, 1)

    class Files(Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            pixels = pillow_image(Path(files[i]), size).astype(np.float32) / 255.0
            return torch.from_numpy((pixels - center) / scale), int(labels[i])

    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(Files(), batch_size=BATCH, shuffle=True, num_workers=workers,
                        prefetch_factor=2 if workers else None, generator=generator)
    model = small_cnn()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    began = time.perf_counter()
    for x, y in loader:
        flip = torch.rand(len(x), generator=generator) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        x = x + 0.05 * torch.randn(x.shape, generator=generator)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - began
    torch.set_num_threads(previous)
    return seconds


def part_throughput(args, tmp: Path) -> dict:
    from image_decode import write_jpegs

    from honed.data import prepare_data
    from honed.data.augment import make_augment
    from honed.spec.schema import AugmentSpec, DataSpec

    folder = tmp / "photos"
    write_jpegs(folder, args.images)
    size = (64, 64)
    data = prepare_data(DataSpec(source=str(folder), image={"size": list(size)}, stream=True,
                                 workers=args.workers, prefetch=2,
                                 split={"val": 0.1, "test": 0.1}), seed=0)
    augment = make_augment(AugmentSpec(flip=True, noise=0.05), kind="image", task=data.task,
                           num_classes=2, scaler=data.preprocess["scaler"])
    source = data.train.x.source
    files = [source.files[i] for i in data.train.x.rows]
    rates: dict[str, list[float]] = {"honed": [], "hand": []}
    count = len(files)
    for round_index in range(args.rounds):
        rates["honed"].append(count / honed_epoch(data, augment))
        rates["hand"].append(count / hand_epoch(files, data.train.y, data.preprocess["scaler"],
                                                args.workers, size, seed=round_index))
        print(f"(a) round {round_index + 1}: honed {rates['honed'][-1]:6.1f} images/s, hand "
              f"{rates['hand'][-1]:6.1f} images/s", flush=True)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    ratio = medians["honed"] / medians["hand"]
    print(f"(a) {count} train images of {args.images}, workers {args.workers}: median honed "
          f"{medians['honed']:.1f}, hand {medians['hand']:.1f} images/s; ratio {ratio:.3f}")
    return {"images": count, "workers": args.workers, "rates": rates, "ratio": ratio}


def write_pngs(folder: Path, count: int, side: int = 64) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        label = ("a", "b")[i % 2]
        (folder / label).mkdir(parents=True, exist_ok=True)
        base = 60 if label == "a" else 160
        pixels = np.clip(base + rng.normal(0, 40, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / label / f"{i:05d}.png", compress_level=1)


def part_limit(args, tmp: Path) -> dict:
    folder = tmp / "pngs"
    count = args.limit_images
    write_pngs(folder, count)
    write_pngs(tmp / "pngs_warm", 40)
    data_bytes = count * 3 * 64 * 64 * 4
    limit = data_bytes // 2
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    results = {}
    for stream in ("true", "auto", "false"):
        command = [sys.executable, __file__, "--child", str(folder), "--child-stream", stream,
                   "--child-limit", str(limit)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        outcome = json.loads(lines[-1]) if lines else {
            "ok": False, "error": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
        outcome["returncode"] = done.returncode
        results[stream] = outcome
        peak = outcome.get("peak_rss")
        print(f"(b) data.stream {stream:5}: {'completed' if outcome.get('ok') else 'failed'}; "
              f"float32 data {data_bytes / 2**20:.0f} MiB, limit {limit / 2**20:.0f} MiB over "
              f"the process after imports"
              + (f", peak RSS {peak / 2**20:.0f} MiB (after imports "
                 f"{outcome['rss_before'] / 2**20:.0f} MiB), streamed {outcome['streamed']}"
                 if peak else f": {outcome.get('error', '')}"), flush=True)
    return {"images": count, "data_bytes": data_bytes, "limit_bytes": limit, "runs": results}


def child(folder: str, stream: str, limit: int) -> None:
    """Under an address-space cap: prepare, train one epoch, predict; one JSON line out."""
    import torch

    from honed.data import prepare_data
    from honed.spec.schema import DataSpec
    from honed.train import fit
    from honed.train.evaluate import predict

    torch.set_num_threads(1)
    setting = {"true": True, "false": False}.get(stream, stream)

    def run(source: str, model):
        data = prepare_data(DataSpec(source=source, stream=setting, workers=1, prefetch=2),
                            seed=0)
        fit(model, data, epochs=1, batch_size=BATCH, threads=1, probes=False)
        return data, predict(model, data.test.x)

    run(folder + "_warm", small_cnn())  # every lazy import done before the cap
    model = small_cnn()
    rss_before = status("VmRSS")
    cap_above_now(limit)
    try:
        data, outputs = run(folder, model)
        streamed = type(data.train.x).__name__ == "LazyInputs"
        ok, error = len(outputs) == len(data.test), ""
    except MemoryError as failure:
        ok, streamed, error = False, None, memory_error(failure)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"ok": ok, "streamed": streamed, "error": error, "peak_rss": own,
                      "peak_rss_workers": workers, "rss_before": rss_before}), flush=True)


def part_small(args, tmp: Path) -> dict:
    from sklearn.datasets import load_digits

    from honed.data import prepare_data
    from honed.spec.schema import DataSpec

    digits = load_digits()
    folder = tmp / "digits"
    folder.mkdir()
    np.save(folder / "x.npy", digits.images[:, None].astype(np.float32))
    np.save(folder / "y.npy", digits.target.astype(np.int64))
    auto = prepare_data(DataSpec(source=str(folder)), seed=0)
    kinds = {"memory": False, f"stream-{args.workers}w": True, "stream-0w": True}
    data = {name: prepare_data(DataSpec(source=str(folder), stream=stream,
                                        workers=0 if name == "stream-0w" else args.workers),
                               seed=0) for name, stream in kinds.items()}
    seconds: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(args.rounds):
        for name in kinds:
            from honed.train import fit

            timer = EpochTimer()
            fit(small_cnn(channels=1, classes=10), data[name], epochs=3, batch_size=BATCH,
                threads=1, callbacks=[timer], probes=False)
            seconds[name] += timer.seconds
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    ratios = {k: medians[k] / medians["memory"] for k in kinds}
    auto_path = "memory" if isinstance(auto.train.x, np.ndarray) else "stream"
    print("(c) digits-sized, median s/epoch: " + ", ".join(
        f"{k} {medians[k]:.3f} ({ratios[k]:.2f}x)" for k in kinds)
        + f"; data.stream auto keeps it in {auto_path}")
    return {"seconds": seconds, "medians": medians, "ratios": ratios, "auto": auto_path}


def part_speed(args, tmp: Path) -> dict:
    """``train.channels_last`` and ``train.compile`` against plain eager training, in memory."""
    from honed.data import prepare_data
    from honed.spec.schema import DataSpec

    rng = np.random.default_rng(0)
    folder = tmp / "arrays64"
    folder.mkdir()
    np.save(folder / "x.npy", rng.integers(0, 256, (args.images, 3, 64, 64)).astype(np.uint8))
    np.save(folder / "y.npy", rng.integers(0, 2, args.images))
    data = prepare_data(DataSpec(source=str(folder), stream=False), seed=0)
    options = {"eager": {}, "channels_last": {"channels_last": True},
               "compile": {"compile": True}}
    seconds: dict[str, list[float]] = {name: [] for name in options}
    first: dict[str, list[float]] = {name: [] for name in options}
    from honed.train import fit

    for _ in range(args.rounds):
        for name, fields in options.items():
            timer = EpochTimer()
            fit(small_cnn(), data, epochs=3, batch_size=BATCH, threads=1, callbacks=[timer],
                probes=False, **fields)
            first[name].append(timer.seconds[0])
            seconds[name] += timer.seconds[1:]  # the first epoch pays compilation
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    ratios = {k: medians[k] / medians["eager"] for k in options}
    print("(d) in memory, CPU, 1 thread, median s/epoch after the first: " + ", ".join(
        f"{k} {medians[k]:.3f} ({ratios[k]:.2f}x)" for k in options)
        + f"; first epoch with compile {statistics.median(first['compile']):.1f}s")
    return {"seconds": seconds, "first": first, "medians": medians, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "c", "d", "all"], default="all")
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--limit-images", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    add_child_options(parser)
    args = parser.parse_args()
    parts = {"a": part_throughput, "b": part_limit, "c": part_small, "d": part_speed}
    run_parts(args, parts, child)


if __name__ == "__main__":
    main()
