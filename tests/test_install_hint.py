"""Install hints: a command that works from the clone, never a PyPI name honed has not published."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

import honed
from honed.errors import UserInputError
from honed.install import install_hint, source_root

ROOT = Path(honed.__file__).resolve().parents[2]


def declared_extras() -> set[str]:
    """The extras pyproject.toml declares (read as text: tomllib is Python 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^(\w+)\s*=", section, re.MULTILINE))


def assert_clone_command(hint: str, extra: str) -> None:
    """``pip install -e '<the checkout>[extra]'``: the checkout, by its absolute path."""
    words = shlex.split(hint)
    assert words[:3] == ["pip", "install", "-e"], hint
    target = words[3]
    assert target == f"{ROOT}[{extra}]", hint
    assert (ROOT / "pyproject.toml").is_file()


@pytest.mark.parametrize("extra", ["serve", "postgres", "dashboard", "explain"])
def test_every_hinted_extra_is_declared_and_installs_from_the_clone(extra):
    assert extra in declared_extras()
    assert source_root() == ROOT
    assert_clone_command(install_hint(extra), extra)


def test_no_source_names_an_unpublished_package():
    """``pip install honed[...]`` or ``"honed[...]"`` would fetch a stranger's package."""
    pattern = re.compile(r"""pip install ['"]?honed\[""")
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "src").rglob("*.py")
                 if pattern.search(path.read_text(encoding="utf-8"))
                 and path.name != "install.py"]  # its docstring quotes the trap
    assert offenders == []


def test_serve_without_fastapi_names_the_clone_command(monkeypatch):
    from honed.serve.app import import_fastapi

    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if the extra were not installed
    with pytest.raises(UserInputError) as caught:
        import_fastapi()
    hint = str(caught.value).split(": ", 1)[1]
    assert_clone_command(hint, "serve")


def test_postgres_without_a_driver_names_the_clone_command(monkeypatch):
    from honed.search.storage import check_storage

    for driver in ("psycopg2", "psycopg"):
        monkeypatch.setitem(sys.modules, driver, None)
    with pytest.raises(UserInputError) as caught:
        check_storage("postgresql://user@127.0.0.1:9/honed")
    hint = str(caught.value).rsplit("): ", 1)[1]
    assert_clone_command(hint, "postgres")


def test_dashboard_without_the_extra_names_the_clone_command(tmp_path, monkeypatch, capsys):
    import optuna

    from honed.cli.main import main

    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(storage=url, study_name="s")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    assert main(["dashboard", "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert_clone_command(err.split("optuna-dashboard: ", 1)[1], "dashboard")
