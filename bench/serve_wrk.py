"""Serving throughput under ``wrk``: today's server against this tree's, interleaved.

    python bench/serve_wrk.py BUNDLE --baseline-src /tmp/main/src [--rounds 3]
        [--seconds 10] [--connections 64] [--server-cpu 0] [--wrk-cpu 1]
        [--variants today,standard,json,npy] [--previous-src OTHER/src]

Each round starts, loads and stops one server per variant, in turn (the first to go rotates
from round to round), so that a shared machine's load swings hit every variant alike:

- ``today``: the baseline source (``--baseline-src``, e.g. a ``git archive`` of main) with
  ``httptools`` and ``uvloop`` hidden, i.e. uvicorn on h11 and asyncio, as before they were
  installed;
- ``standard``: the baseline source with them (what ``uvicorn[standard]`` alone changes);
- ``json``: this tree, single-record JSON requests (``{"inputs": [sample]}``);
- ``npy``: this tree, the same sample as an ``application/x-npy`` body;
- ``previous`` (with ``--previous-src``): another tree's server, JSON requests, e.g. main
  before a change to this tree, so that the change is measured in the same run.

``wrk -t1 -cC -dS --latency`` posts one real sample back to back (a Lua script sets the method,
body and content type), after a 2 s warm-up run. ``--server-cpu``/``--wrk-cpu`` pin the server
and wrk to different cores with ``taskset``. The table gives requests/s and p99 per round and
each variant's ratio to ``today`` in the same round; then in-process ONNX Runtime at batch 1
over the same samples (``bench/serve.py``'s loop), for the ">= 0.5x in-process" goal.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
LUA = """wrk.method = "POST"
wrk.headers["content-type"] = "{ctype}"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def _bench_serve():
    """``bench/serve.py`` as a module (its request bodies and in-process loop)."""
    spec = importlib.util.spec_from_file_location("bench_serve", HERE / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hide_fast_http(folder: Path) -> Path:
    """A folder that, first on PYTHONPATH, makes ``import httptools``/``uvloop`` fail."""
    for name in ("httptools", "uvloop"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text("raise ImportError('hidden by the bench')\n")
    return folder


def _lua(folder: Path, name: str, body: bytes, ctype: str) -> Path:
    (folder / f"{name}.body").write_bytes(body)
    script = folder / f"{name}.lua"
    script.write_text(LUA.format(ctype=ctype, body=folder / f"{name}.body"))
    return script


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(port: int, script: Path, *, seconds: float, connections: int,
            cpu: str | None) -> dict:
    """requests/s, p50/p99 in ms and non-2xx answers of one ``wrk`` run."""
    pin = ["taskset", "-c", cpu] if cpu else []
    out = subprocess.run([*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s",
                          "--latency", "-s", str(script), f"http://127.0.0.1:{port}/v1/predict"],
                         capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _milliseconds(re.search(r"\s50%\s+(\S+)", out).group(1)),
            "p99": _milliseconds(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def measure(variant: dict, bundle: Path, script: Path, args) -> dict:
    """Start the variant's server, warm it up, load it with wrk, stop it."""
    serve = _bench_serve()
    os.environ["PYTHONPATH"] = variant["pythonpath"]
    try:
        server = serve.ServerProcess(bundle, *args.server_args, cpus=args.server_cpu)
    finally:
        os.environ["PYTHONPATH"] = str(SRC)
    try:
        run_wrk(server.port, script, seconds=2, connections=args.connections, cpu=args.wrk_cpu)
        return run_wrk(server.port, script, seconds=args.seconds,
                       connections=args.connections, cpu=args.wrk_cpu)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--baseline-src", type=Path, required=True,
                        help="the src folder of the code to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpu", help="cores for the server (taskset -c)")
    parser.add_argument("--wrk-cpu", help="cores for wrk (taskset -c)")
    parser.add_argument("--variants", default="today,standard,json,npy",
                        help="which to run, in order (add 'previous' with --previous-src)")
    parser.add_argument("--previous-src", type=Path,
                        help="the src folder of the 'previous' variant")
    parser.add_argument("--server-args", nargs=argparse.REMAINDER, default=[],
                        help="extra `honed serve` options for every server (last)")
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    from honed.serve.runtime import load_runtime

    runtime = load_runtime(args.bundle, threads=1)
    bodies = _bench_serve().request_bodies(runtime, n=64)
    sample = np.asarray(json.loads(bodies[0])["inputs"], dtype=np.float32)
    npy = io.BytesIO()
    np.save(npy, sample, allow_pickle=False)
    folder = Path(tempfile.mkdtemp(prefix="serve_wrk_"))
    hidden = _hide_fast_http(folder / "hidden")
    base = str(args.baseline_src.resolve())
    variants = {
        "today": {"pythonpath": f"{hidden}{os.pathsep}{base}",
                  "script": _lua(folder, "json", bodies[0], "application/json")},
        "standard": {"pythonpath": base, "script": folder / "json.lua"},
        "json": {"pythonpath": str(SRC), "script": folder / "json.lua"},
        "npy": {"pythonpath": str(SRC),
                "script": _lua(folder, "npy", npy.getvalue(), "application/x-npy")},
    }
    if args.previous_src is not None:
        variants["previous"] = {"pythonpath": str(args.previous_src.resolve()),
                                "script": folder / "json.lua"}
    chosen = args.variants.split(",")
    if unknown := [name for name in chosen if name not in variants]:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; 'previous' needs "
                     "--previous-src")
    print(f"wrk -t1 -c{args.connections} -d{args.seconds:g}s, {args.rounds} round(s), "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'round':>5} {'variant':<8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'x today':>7} {'non2xx':>6}")
    results: dict[str, list[dict]] = {name: [] for name in chosen}
    for r in range(1, args.rounds + 1):
        row = {}
        turn = (r - 1) % len(chosen)  # rotate who goes first, so no variant always runs last
        for name in chosen[turn:] + chosen[:turn]:
            row[name] = measure(variants[name], args.bundle, variants[name]["script"], args)
            results[name].append(row[name])
        for name in chosen:
            got = row[name]
            ratio = got["rps"] / row["today"]["rps"] if "today" in row else float("nan")
            print(f"{r:>5} {name:<8} {got['rps']:>8.0f} {got['p50']:>7.2f} {got['p99']:>7.2f} "
                  f"{ratio:>7.2f} {got['non2xx']:>6} {got['socket_errors']}", flush=True)
    for name in chosen:
        rps = [g["rps"] for g in results[name]]
        print(f"median {name:<8} {np.median(rps):>8.0f} req/s, p99 "
              f"{np.median([g['p99'] for g in results[name]]):.2f} ms")
    local = _bench_serve().in_process(runtime, bodies, seconds=5)
    print(f"in-process ORT, batch 1, 1 thread: {local:.0f} records/s")
    for name in chosen:
        print(f"{name}: {np.median([g['rps'] for g in results[name]]) / local:.2f}x in-process")


if __name__ == "__main__":
    main()
