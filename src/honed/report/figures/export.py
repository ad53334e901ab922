"""Export: the bundle's parity check against PyTorch and its file hashes."""

from __future__ import annotations

import hashlib

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, esc, table

__all__ = ["section"]


def section(evidence: Evidence) -> Section:
    """What ``bundle/card.json`` says about verification, and whether every hash still holds."""
    part = Section("export", "Export")
    folder = evidence.root / "bundle"
    card = evidence.read_json("bundle/card.json")
    if card is None:
        return part.lack("no bundle/card.json: the spec has no export section, or honed export "
                         "has not run")
    rows = [("variant", card.get("variant")), ("exporter", card.get("exporter")),
            ("opset", card.get("opset")), ("parameters", card.get("parameters")),
            ("input", f"{(card.get('input') or {}).get('shape')}"),
            ("output", f"{(card.get('output') or {}).get('kind')} "
                       f"{(card.get('output') or {}).get('shape')}")]
    part.add(table(["", "value"], rows, caption="bundle"))
    verification = card.get("verification") or {}
    if verification:
        details = []
        for key, value in verification.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}"
                                  for k, v in value.items())
            details.append((key, value))
        part.add(table(["verification", "value"], details,
                       caption="parity of ONNX Runtime against eager PyTorch"))
    else:
        part.lack("card.json records no verification")
    hashes = []
    for name, recorded in (card.get("files") or {}).items():
        path = folder / name
        if not path.is_file():
            state = "missing"
        else:
            state = "ok" if _sha256(path) == recorded else "changed since export"
        hashes.append((esc(name), f"<code>{esc(recorded)}</code>", esc(state)))
    if hashes:
        part.add(table(["file", "sha256 (card.json)", "on disk"], hashes, raw=True,
                       caption="bundle files"))
    return part


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
