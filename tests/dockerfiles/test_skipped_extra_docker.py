"""Tests that skip without an optional extra: the backfill retries them with every extra.

The project declares ``test`` and ``toml``; the PR's test needs ``tomli`` (``toml`` extra) and
skips without it, on both sides of the fix. The first environment (the ``test`` extra) leaves
the candidate with no FAIL_TO_PASS; the retry with every extra verifies it, and the task records
both environments' attempts and that the retry happened.
"""

from __future__ import annotations

from pathlib import Path

import docker
import git
import polars as pl
import pytest

from pipeline.demo.sample_repo import History
from tests.taskforge_cli import run

pytestmark = pytest.mark.docker

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
[project]
name = "skippy"
version = "1.0"
[project.optional-dependencies]
test = ["pytest"]
toml = ["tomli"]
docs = ["sphinx"]
"""
TEST = """import pytest

from skippy import read

try:
    import tomli
except ImportError:
    tomli = None
toml_required = pytest.mark.skipif(tomli is None, reason="Requires tomli")


@toml_required
def test_read():
    assert read("a = 1") == {"a": 1}


def test_read_nothing():
    assert read("") == {}
"""


def test_skipped_tests_get_every_extra(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    for image in engine.images.list(name="taskforge-env/example__skippy"):
        engine.images.remove(image.id, force=True)
    repo = git.Repo.init(tmp_path / "skippy", initial_branch="main")
    history = History(repo)
    history.commit(
        "Start", {"pyproject.toml": PYPROJECT, "skippy.py": "def read(text):\n    return {}\n"}
    )
    history.commit(
        "Read TOML (#1)",
        {
            "skippy.py": "def read(text):\n    if not text:\n        return {}\n"
            "    import tomli\n\n    return tomli.loads(text)\n",
            "tests/test_read.py": TEST,
        },
    )
    out = tmp_path / "out"
    result = run(
        "backfill", str(tmp_path / "skippy"), "--repo", "example/skippy", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    task = pl.read_parquet(out / "data" / "*.parquet").row(0, named=True)
    assert task["outcome"] == "verified", task["outcome_detail"]
    assert task["FAIL_TO_PASS"] == ["tests/test_read.py::test_read"]
    assert "retried with every extra (test, toml)" in task["outcome_detail"]
    assert [a["extras"] for a in task["env_attempts"]] == [["test"], ["test", "toml"]]
    assert task["install_config"]["extras"] == ["test", "toml"]
