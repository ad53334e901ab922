"""Serving throughput and latency: micro-batched server vs in-process ONNX Runtime vs naive.

    python bench/serve.py [--model mnist-mlp] [--clients 64] [--seconds 10] [--malformed 10000]

Trains and exports a small model (or takes ``--bundle``), then, in one run on loopback:

1. an in-process ONNX Runtime loop over the same records at batch 1 (timed before and after
   the servers, averaged, so drift of a shared machine hits it like the servers);
2. ``honed serve`` with micro-batching, under ``--clients`` concurrent keep-alive clients that
   each send single-record requests back to back;
3. the same server with batching off (``--max-batch 1 --batch-window-ms 0``): the runtime is
   called once per request, as a naive endpoint would;
4. ``--malformed`` generated malformed payloads against the batched server, with its resident
   memory before and after.

The load generator is a separate process speaking raw HTTP/1.1 over asyncio streams (httpx
costs more CPU per request than the server on 2 cores). ONNX Runtime gets ``--threads``
intra-op threads everywhere. Targets: server >= 50% of the in-process loop and >= 2x naive,
p99 < 50 ms, no 5xx; malformed payloads: only 4xx, process alive, memory stable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = {
    "iris-mlp": {"data": {"source": "builtin:iris"}, "model": {"family": "mlp", "hidden": 64},
                 "train": {"epochs": 5}},
    "digits-cnn": {"data": {"source": "builtin:digits"}, "model": {"family": "cnn"},
                   "train": {"epochs": 2}},
    "mnist-cnn": {"data": {"source": "builtin:mnist", "limit": 1000},
                  "model": {"family": "cnn"}, "train": {"epochs": 1}},
    # 2.9M parameters: at batch 1 the runtime streams every weight per record, batched it
    # reuses them, which is the case micro-batching is for
    "mnist-mlp": {"data": {"source": "builtin:mnist", "limit": 1000},
                  "model": {"family": "mlp", "hidden": 1024, "depth": 3},
                  "train": {"epochs": 1}},
}


def build_bundle(name: str, folder: Path) -> Path:
    from honed.export.bundle import export_bundle
    from honed.spec.template import spec_from_dict
    from honed.train.session import train_spec

    raw = {"name": name, **MODELS[name]}
    train_spec(spec_from_dict(raw, base_dir=folder), out_dir=folder / name, progress=False)
    return export_bundle(folder / name)


def request_bodies(runtime, n: int = 256) -> list[bytes]:
    """Single-record request bodies from the model's own data source, as a client sends them."""
    from honed.data.sources import load_source
    from honed.spec.schema import DataSpec

    raw = load_source(DataSpec(source=runtime.preprocess["source"]))
    rows = np.random.default_rng(0).choice(len(raw), size=min(n, len(raw)), replace=False)
    if runtime.kind == "table":
        names = [c["name"] for c in runtime.preprocess["columns"]]
        frame = raw.x.iloc[rows][names]
        return [json.dumps({"records": [{k: (None if v != v else v) for k, v in r.items()}]}
                           ).encode() for r in frame.to_dict("records")]
    return [json.dumps({"inputs": [raw.x[i].tolist()]}).encode() for i in rows]


def in_process(runtime, bodies: list[bytes], seconds: float) -> float:
    """Records per second of ``session.run`` at batch 1 over the same records, prepared."""
    from honed.serve.payload import check_inputs, check_records

    xs = []
    for body in bodies:
        payload = json.loads(body)
        raw = (check_records(payload["records"], runtime.preprocess) if "records" in payload
               else check_inputs(payload["inputs"], runtime.preprocess))
        xs.append(runtime.prepare(raw))
    for x in xs[:20]:
        runtime.run(x)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for x in xs:
            runtime.run(x)
        count += len(xs)
    return count / (time.perf_counter() - start)


class ServerProcess:
    def __init__(self, bundle: Path, *args: str, cpus: str | None = None):
        pin = ["taskset", "-c", cpus] if cpus else []
        self.process = subprocess.Popen(
            [*pin, sys.executable, "-m", "honed.cli.main", "serve", str(bundle), "--port", "0",
             "--log-level", "warning", *args], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"server did not start: {line}")
        self.port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(30)


def load(port: int, bodies_file: Path, *, clients: int, seconds: float = 0,
         total: int = 0) -> dict:
    """Run the load generator in its own process and return its JSON summary."""
    command = [sys.executable, __file__, "--loadgen", str(port), str(bodies_file),
               "--clients", str(clients), "--seconds", str(seconds), "--total", str(total)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


# ---- load generator (runs in its own process) ----------------------------------------------

async def _exchange(reader, writer, request: bytes) -> tuple[int, bool]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and "close" in value.lower():
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def _client(port, requests, start, step, stop_at, budget, latencies, codes):
    reader = writer = None
    i = start
    while time.perf_counter() < stop_at and (budget is None or budget[0] > 0):
        if budget is not None:
            budget[0] -= 1
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.perf_counter()
        try:
            status, close = await _exchange(reader, writer, requests[i % len(requests)])
        except (asyncio.IncompleteReadError, ConnectionError):
            status, close = -1, True  # the server closed the connection on a bad request
        latencies.append(time.perf_counter() - began)
        codes[status] = codes.get(status, 0) + 1
        if close:
            writer.close()
            writer = None
        i += step
    if writer is not None:
        writer.close()


def loadgen_main(port: int, bodies_file: Path, clients: int, seconds: float, total: int):
    items = json.loads(bodies_file.read_text())
    requests = [(f"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: {kind}\r\n"
                 f"content-length: {len(body.encode('latin-1'))}\r\n\r\n{body}"
                 ).encode("latin-1") for body, kind in items]
    latencies: list[float] = []
    codes: dict[int, int] = {}

    async def run(duration, budget):
        stop_at = time.perf_counter() + duration
        await asyncio.gather(*(_client(port, requests, c, clients, stop_at, budget, latencies,
                                       codes) for c in range(clients)))

    if seconds:
        asyncio.run(run(min(1.0, seconds / 5), None))  # warm-up, not counted
        latencies.clear()
        codes.clear()
    began = time.perf_counter()
    asyncio.run(run(seconds or 1e9, [total] if total else None))
    elapsed = time.perf_counter() - began
    lat = sorted(latencies)
    print(json.dumps({"requests": len(lat), "seconds": elapsed, "rps": len(lat) / elapsed,
                      "p50_ms": 1000 * lat[len(lat) // 2],
                      "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                      "codes": {str(k): v for k, v in sorted(codes.items())}}))


# ---- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mnist-mlp", choices=sorted(MODELS))
    parser.add_argument("--server-cpus", help="pin the servers with taskset -c (e.g. 0,1)")
    parser.add_argument("--bundle", type=Path, help="serve this bundle instead of training one")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--malformed", type=int, default=10_000)
    parser.add_argument("--loadgen", nargs=2, metavar=("PORT", "BODIES"), help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        loadgen_main(int(args.loadgen[0]), Path(args.loadgen[1]), args.clients, args.seconds,
                     args.total)
        return

    from honed.serve.fuzz import malformed_payloads
    from honed.serve.runtime import load_runtime

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = args.bundle or build_bundle(args.model, tmp)
        runtime = load_runtime(bundle, threads=args.threads)
        bodies = request_bodies(runtime)
        good = tmp / "good.json"
        good.write_text(json.dumps([[b.decode("latin-1"), "application/json"] for b in bodies]))
        print(f"model {args.model if not args.bundle else bundle}: input {runtime.input_shape}, "
              f"{os.cpu_count()} cores, ONNX Runtime threads {args.threads}, "
              f"{args.clients} clients, {args.seconds:g} s per run", flush=True)
        loop_before = in_process(runtime, bodies, args.seconds / 2)
        threads = ["--threads", str(args.threads)]
        batched = ServerProcess(bundle, *threads, cpus=args.server_cpus)
        fast = load(batched.port, good, clients=args.clients, seconds=args.seconds)
        naive_server = ServerProcess(bundle, *threads, "--max-batch", "1",
                                     "--batch-window-ms", "0", cpus=args.server_cpus)
        naive = load(naive_server.port, good, clients=args.clients, seconds=args.seconds)
        naive_server.stop()
        loop_after = in_process(runtime, bodies, args.seconds / 2)
        loop = (loop_before + loop_after) / 2

        junk = None
        if args.malformed > 0:
            payloads = [[b.decode("latin-1"), kind] for b, kind in
                        malformed_payloads(runtime.metadata(), args.malformed, seed=0)]
            middle = len(payloads) // 2
            # two halves: growth in the second half is what a leak would show
            rss = [batched.rss_mib()]
            junk = {"requests": 0, "codes": {}}
            for i, part in enumerate((payloads[:middle], payloads[middle:])):
                bad = tmp / f"bad{i}.json"
                bad.write_text(json.dumps(part))
                half = load(batched.port, bad, clients=16, total=len(part))
                rss.append(batched.rss_mib())
                junk["requests"] += half["requests"]
                for code, count in half["codes"].items():
                    junk["codes"][code] = junk["codes"].get(code, 0) + count
            alive = batched.process.poll() is None
            after_junk = load(batched.port, good, clients=4, total=200)
        batched.stop()

    def fivexx(result):
        return sum(v for k, v in result["codes"].items() if k.startswith("5"))

    print(f"in-process ONNX Runtime, batch 1:  {loop:9.0f} records/s "
          f"(before {loop_before:.0f}, after {loop_after:.0f})")
    for label, r in (("server, micro-batched:", fast), ("server, naive (batch 1):", naive)):
        print(f"{label:34s}{r['rps']:9.0f} requests/s  p50 {r['p50_ms']:6.1f} ms  "
              f"p99 {r['p99_ms']:6.1f} ms  5xx {fivexx(r)}  codes {r['codes']}")
    print(f"ratios: server / in-process loop {fast['rps'] / loop:.2f} (target >= 0.5), "
          f"server / naive {fast['rps'] / naive['rps']:.2f} (target >= 2)")
    if junk is None:
        return
    print(f"malformed payloads: {junk['requests']} sent, codes {junk['codes']}, 5xx "
          f"{fivexx(junk)}, process alive {alive}, RSS {' -> '.join(f'{r:.1f}' for r in rss)} "
          f"MiB (before, half-way, after); "
          f"good requests after: {after_junk['codes']}")


if __name__ == "__main__":
    main()
