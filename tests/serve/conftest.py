"""Real bundles (trained and exported once per session) and a real server in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honed.spec.template import spec_from_dict

IRIS = {"name": "iris", "data": {"source": "builtin:iris"},
        "model": {"family": "mlp", "hidden": 16}, "train": {"epochs": 2, "batch_size": 32}}
DIGITS = {"name": "digits", "data": {"source": "builtin:digits", "limit": 400},
          "model": {"family": "cnn", "channels": [4], "hidden": 16},
          "train": {"epochs": 2, "batch_size": 64}}


def _image_folder(root: Path) -> Path:
    """Two classes of 8x8 grayscale PNGs: bright top half or bright bottom half."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, rows in (("top", slice(0, 4)), ("bottom", slice(4, 8))):
        (root / name).mkdir(parents=True)
        for i in range(16):
            pixels = rng.integers(0, 60, size=(8, 8)).astype(np.uint8)
            pixels[rows] += 180
            Image.fromarray(pixels, mode="L").save(root / name / f"{i:02d}.png")
    return root


def _mixed_table(root: Path) -> Path:
    """A regression table with a numeric and a categorical column."""
    rng = np.random.default_rng(0)
    size = rng.uniform(1, 10, 120).round(2)
    colour = rng.choice(["red", "green", "blue"], 120)
    price = 3 * size + np.select([colour == "red", colour == "green"], [5, -2], 0)
    path = root / "prices.csv"
    pd.DataFrame({"size": size, "colour": colour, "price": price.round(3)}).to_csv(path,
                                                                                   index=False)
    return path


def _bundle(raw: dict, out: Path, base: Path) -> Path:
    from honed.export.bundle import export_bundle
    from honed.train.session import train_spec

    train_spec(spec_from_dict(raw, base_dir=base), out_dir=out, progress=False)
    return export_bundle(out, exporter="torchscript")  # same bundle, a faster exporter


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Bundles: ``iris`` (table), ``prices`` (regression, a categorical column), ``digits``
    (8x8 arrays) and ``shapes`` (an image folder)."""
    root = tmp_path_factory.mktemp("bundles")
    images = _image_folder(root / "images")
    shapes = {"name": "shapes", "data": {"source": str(images), "split": {"stratify": True}},
              "model": {"family": "mlp", "hidden": 8}, "train": {"epochs": 2}}
    prices = {"name": "prices", "data": {"source": str(_mixed_table(root)), "target": "price"},
              "model": {"family": "mlp", "hidden": 8}, "train": {"epochs": 2}}
    return {"iris": _bundle(IRIS, root / "iris", root),
            "prices": _bundle(prices, root / "prices", root),
            "digits": _bundle(DIGITS, root / "digits", root),
            "shapes": _bundle(shapes, root / "shapes", root),
            "images": images}


def honed(*args, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``honed`` command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"}, **kwargs)


class Server:
    """``honed serve`` in a subprocess on a free loopback port."""

    def __init__(self, bundle: Path, *args: str, env: dict | None = None, preexec_fn=None):
        # the log goes to an unlinked file: a pipe nobody reads fills up, and then the
        # server blocks on its next log line
        self.stderr = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "honed.cli.main", "serve", str(bundle), "--port", "0",
             "--log-level", "warning", *args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
        line = self.process.stdout.readline()  # blocks until listening, or EOF on exit
        if "listening on" not in line:
            self.process.wait(30)
            raise RuntimeError(f"server did not start: {line}{self.log()}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(30)
        self.process.stdout.close()
        return code

    def log(self) -> str:
        """What the server wrote to standard error so far."""
        self.stderr.seek(0)
        return self.stderr.read()


@pytest.fixture(scope="module")
def start_server():
    """Start servers for a test module; all are stopped at its end."""
    started: list[Server] = []

    def start(bundle: Path, *args: str, env: dict | None = None, preexec_fn=None) -> Server:
        server = Server(bundle, *args, env=env, preexec_fn=preexec_fn)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        server.stderr.close()


def predict_without_torch(bundle, table, out) -> subprocess.CompletedProcess:
    """``honed predict BUNDLE TABLE --out OUT`` in a process that fails if it imports torch."""
    code = ("import sys; from honed.cli.main import main; "
            f"code = main(['predict', {str(bundle)!r}, {str(table)!r}, '--out', {str(out)!r}]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})


def post_malformed(client, path: str, n: int, *, seed: int, **limits) -> None:
    """Post ``n`` of :func:`~honed.serve.fuzz.malformed_payloads` (``limits``: the server's
    ``max_body_bytes`` and ``max_text_chars``) to ``path``: each must get a 4xx, never a 5xx."""
    from honed.serve.fuzz import malformed_payloads

    meta = client.get("/v1/metadata").json()
    for body, content_type in malformed_payloads(meta, n, seed=seed, **limits):
        answer = client.post(path, content=body, headers={"content-type": content_type})
        assert 400 <= answer.status_code < 500, (body[:200], answer.text)
