"""``honed worker --wait``: workers started together with honed tune (array jobs) wait for it
to create the study, then join; a bad duration or a study that never comes is one line."""

from __future__ import annotations

import threading

import optuna

from honed.cli.main import main
from honed.search.storage import open_storage
from honed.search.study import TARGET, wait_for_study
from tests.search.test_storage import SPEC, one_line_error


def test_a_bad_wait_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = f"sqlite:///{tmp_path}/study.db"
    assert main(["worker", str(tmp_path / "spec.yaml"), "--storage", url, "--wait",
                 "soon"]) == 2
    assert "--wait: a duration is a number of seconds" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_a_study_that_never_comes_is_the_usual_line(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = f"sqlite:///{tmp_path}/study.db"
    assert main(["worker", str(tmp_path / "spec.yaml"), "--storage", url, "--wait",
                 "0.2s"]) == 2
    assert "no study named 's'" in one_line_error(capsys)


def test_wait_for_study_returns_once_honed_tune_set_the_target(tmp_path):
    url = f"sqlite:///{tmp_path}/study.db"
    storage = open_storage(url, writer=True)
    study = optuna.create_study(study_name="s", storage=storage)
    assert not wait_for_study(url, "s", 0)  # made, but not ready: no target yet
    maker = threading.Thread(target=lambda: study.set_user_attr(TARGET, 3))
    maker.start()
    assert wait_for_study(url, "s", 120, poll=0.05)
    maker.join()
