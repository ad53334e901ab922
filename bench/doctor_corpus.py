"""The doctor's precision and recall on a labelled corpus of real runs.

    python bench/doctor_corpus.py [--quick] [--keep DIR] [--only PREFIX] [--json F]

Trains every case of ``tests/report/corpus.py`` (healthy runs on iris, wine, breast_cancer,
digits, diabetes and synthetic tables, a shuttle-like imbalanced table among them; each
pathology at two or more strengths) through ``train_spec``, the function behind
``honed train``, runs ``honed doctor`` on each run dir and prints, per check, the true and false
positives and negatives, then the overall precision and recall and the healthy runs that got a
finding. The goal is no finding on a healthy run and every pathology found.

To score another version of the doctor on the same corpus (e.g. main's), put its ``src``
first on PYTHONPATH: the corpus is read from this checkout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.report.corpus

from tests.report.corpus import CASES, build_case, format_table, score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the CI slice")
    parser.add_argument("--only", default="", help="cases whose name starts with this")
    parser.add_argument("--keep", type=Path, help="build the run dirs here and keep them")
    parser.add_argument("--json", type=Path, help="write the findings per case here")
    args = parser.parse_args()
    import honed
    from honed.report.doctor import diagnose

    cases = [c for c in CASES if (c.quick or not args.quick) and c.name.startswith(args.only)]
    print(f"doctor from {Path(honed.__file__).parent}; {len(cases)} cases", flush=True)
    found: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        for i, case in enumerate(cases, 1):
            started = time.perf_counter()
            run_dir = root / case.name
            if not (run_dir / "spec.yaml").is_file():
                run_dir = build_case(case, root)
            found[case.name] = {f.check for f in diagnose(run_dir).findings}
            mark = "ok" if found[case.name] - case.allow == set(case.expect) else "WRONG"
            print(f"[{i:>2}/{len(cases)}] {case.name:<31} {mark:<5} "
                  f"{','.join(sorted(found[case.name])) or '-':<26} "
                  f"{time.perf_counter() - started:.1f}s", flush=True)
    print(format_table(score(found, cases), found, cases))
    if args.json:
        args.json.write_text(json.dumps({k: sorted(v) for k, v in found.items()}, indent=1))


if __name__ == "__main__":
    main()
