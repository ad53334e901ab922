"""``honed explain`` on the command line: output, --json, and bad input (exit 2, nothing
written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from honed.cli.main import main
from honed.install import install_hint


def test_global_explanation_prints_a_ranking_and_writes_three_files(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["explain", str(runs["known"]), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy drop when shuffled" in text and "sanity:" in text
    # the column header fits on its own line (a wrapped header splits across two)
    assert any(line.startswith("  input ") and line.endswith(" mean 95% interval")
               for line in text.splitlines()), text
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith("wrote"))
    assert sorted(p.name for p in out.iterdir()) == ["attributions.npz", "explain.html",
                                                    "importance.json"]


def test_json_and_a_chosen_method_for_each_row_of_a_csv(runs, tmp_path, capsys):
    rows = pd.read_csv(runs["known"].parent / "known.csv").drop(columns="label").head(4)
    rows.to_csv(tmp_path / "four.csv", index=False)
    assert main(["explain", str(runs["known"]), str(tmp_path / "four.csv"), "--method",
                 "feature_ablation", "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["inputs"] == 4 and summary["method"] == "feature_ablation"
    local = json.loads((tmp_path / "out" / "local.json").read_text())
    # one attribution per column as the user wrote it: colour once, not per category
    assert sorted(local["rows"][0]["attributions"]) == ["a", "b", "colour", "const", "n1",
                                                        "n2"]


def test_bad_input_is_one_line_exit_2_and_nothing_written(runs, tmp_path, capsys):
    out = tmp_path / "out"
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(tmp_path / "short.csv", index=False)
    np.savez(tmp_path / "wrong.npz", x=np.zeros((2, 3)))
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    for argv in ([str(runs["known"]), str(tmp_path / "short.csv")],
                 [str(runs["digits"]), str(tmp_path / "wrong.npz")],
                 [str(runs["known"]), str(tmp_path / "missing.csv")],
                 [str(tmp_path), str(tmp_path / "short.csv")]):
        assert main(["explain", *argv, "--out", str(out)]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("honed explain: error:") and "\n" not in error, error
        assert not out.exists()
    assert main(["explain", str(runs["known"]), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_without_captum_the_extra_is_named_and_nothing_is_written(runs, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    # a Python where captum cannot be imported, as without the explain extra
    code = ("import sys; sys.modules['captum'] = None\n"
            "from honed.cli.main import main\n"
            f"sys.exit(main(['explain', {str(runs['known'])!r}, '--out', {str(out)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("honed explain: error: attributions need Captum: "
                                   f"{install_hint('explain')}")
    assert not out.exists()
