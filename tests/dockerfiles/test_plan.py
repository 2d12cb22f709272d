"""Planning environments over a generated history whose dependencies change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import git

from dockerfiles.base import BOOTSTRAPPED
from dockerfiles.environment import pin_date, plan_environment
from dockerfiles.recipe import dependency_files, dependency_state
from pipeline.demo.sample_repo import History

PYPROJECT = """[project]
name = "evolving"
version = "{version}"
requires-python = "{requires}"
dependencies = [{deps}]
[project.optional-dependencies]
test = ["pytest"]
dev = ["pytest", "six"]
"""


def pyproject(version: str = "1.0", requires: str = ">=3.8", deps: str = "") -> str:
    return PYPROJECT.format(version=version, requires=requires, deps=deps)


def make_history(tmp_path: Path) -> tuple[git.Repo, list[str]]:
    repo = git.Repo.init(tmp_path / "evolving", initial_branch="main")
    history = History(repo)
    shas = [
        history.commit("Start", {"pyproject.toml": pyproject(), "evolving.py": "x = 1\n"}),
        history.commit("Code", {"evolving.py": "x = 2\n"}),
        history.commit("Release 1.1", {"pyproject.toml": pyproject(version="1.1")}),
        history.commit("Need six", {"pyproject.toml": pyproject("1.1", ">=3.9", '"six"')}),
        history.commit("More code", {"evolving.py": "x = 3\n"}),
    ]
    return repo, shas


def test_version_bump_is_not_a_new_state(tmp_path: Path) -> None:
    repo, shas = make_history(tmp_path)
    states = [dependency_state(dependency_files(repo.commit(s))) for s in shas]
    assert states[0] == states[1] == states[2]
    assert states[3] == states[4] != states[2]


def test_pin_date_is_the_day_after_the_state_began(tmp_path: Path) -> None:
    repo, shas = make_history(tmp_path)
    first = dependency_state(dependency_files(repo.commit(shas[2])))
    assert pin_date(repo, shas[2], first) == datetime(2024, 3, 2, tzinfo=UTC)
    second = dependency_state(dependency_files(repo.commit(shas[4])))
    assert pin_date(repo, shas[4], second) == datetime(2024, 3, 2, tzinfo=UTC)
    assert pin_date(repo, shas[1], first) == pin_date(repo, shas[2], first)


def test_plans_group_by_dependency_state(tmp_path: Path) -> None:
    repo, shas = make_history(tmp_path)
    plans = [plan_environment(repo, "o/evolving", sha, [], BOOTSTRAPPED) for sha in shas]
    assert len({p.key for p in plans[:3]}) == 1
    assert len({p.key for p in plans[3:]}) == 1
    assert plans[0].key != plans[3].key
    attempts = plans[0].attempts
    assert [a.python for a in attempts] == ["3.11", "3.11", "3.11", "3.9"]
    assert [a.extras for a in attempts] == [
        ["test"],
        ["test", "dev"],
        ["test", "dev"],
        ["test", "dev"],
    ]
    assert [a.exclude_newer is not None for a in attempts] == [True, True, False, False]


def test_pinned_attempts_use_a_python_of_the_era(tmp_path: Path) -> None:
    """Packages pinned to 2021 have no wheels for Python 3.11 (released in October 2022)."""
    repo = git.Repo.init(tmp_path / "old", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2021, 5, 1, tzinfo=UTC)
    text = pyproject().replace(
        'requires-python = ">=3.8"',
        'requires-python = ">=3.8"\nclassifiers = ["Programming Language :: Python :: 3.11"]',
    )
    sha = history.commit("Start", {"pyproject.toml": text, "evolving.py": "x = 1\n"})
    attempts = plan_environment(repo, "o/old", sha, [], BOOTSTRAPPED).attempts
    assert [(a.python, a.exclude_newer is not None) for a in attempts] == [
        ("3.9", True),
        ("3.9", True),
        ("3.11", False),
        ("3.9", False),
    ]


def test_before_every_python_available_the_oldest_is_pinned(tmp_path: Path) -> None:
    """A 2020 commit claiming 3.5-3.8 where only 3.9 and later can be had: packages of its
    era are pinned on 3.9, the nearest, not on a Python two years younger."""
    repo = git.Repo.init(tmp_path / "older", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2020, 4, 1, tzinfo=UTC)
    text = pyproject().replace(
        'requires-python = ">=3.8"',
        'requires-python = ">=3.5"\nclassifiers = ["Programming Language :: Python :: 3.8"]',
    )
    sha = history.commit("Start", {"pyproject.toml": text, "evolving.py": "x = 1\n"})
    attempts = plan_environment(repo, "o/older", sha, [], BOOTSTRAPPED).attempts
    assert (attempts[0].python, attempts[0].exclude_newer is not None) == ("3.9", True)
