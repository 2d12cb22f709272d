"""A history whose dependencies change: two dependency states, two images, a fallback.

The first state's tests import ``six``, which only the ``dev`` extra brings: the first attempt
fails its collection check, and the next one adds the extra that declares the missing module.
"""

from __future__ import annotations

from pathlib import Path

import docker
import git
import polars as pl
import pytest

from pipeline.demo.sample_repo import History
from tests.dockerfiles.test_plan import pyproject
from tests.taskforge_cli import run

pytestmark = pytest.mark.docker

TEST_V0 = (
    "import six\n\nfrom evolving import double\n\n\ndef test_two():\n    assert double(0) == 0\n"
)


def make_repo(path: Path) -> Path:
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    history.commit(
        "Start",
        {
            "pyproject.toml": pyproject(),
            "evolving.py": "def double(x):\n    return x * 3\n",
            "tests/test_evolving.py": TEST_V0,  # needs six, which only the dev extra brings
        },
    )
    history.commit(
        "Fix double (#1)",
        {
            "evolving.py": "def double(x):\n    return x * 2\n",
            "tests/test_evolving.py": TEST_V0
            + "\n\ndef test_double():\n    assert double(2) == 4\n",
        },
    )
    history.commit("Depend on six", {"pyproject.toml": pyproject("1.1", ">=3.9", '"six"')})
    history.commit(
        "Add half (#3)",
        {
            "evolving.py": "import six\n\n\ndef double(x):\n    return x * 2\n\n\n"
            "def half(x):\n    return x / 2\n",
            "tests/test_half.py": "from evolving import half\n\n\ndef test_half():\n"
            "    assert half(3) == 1.5\n",
        },
    )
    return path


def test_two_states_two_images_and_a_fallback(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    for image in engine.images.list(name="taskforge-env/example__evolving"):
        engine.images.remove(image.id, force=True)  # build afresh: the fallback is under test
    source = make_repo(tmp_path / "evolving")
    out = tmp_path / "out"
    result = run("backfill", str(source), "--repo", "example/evolving", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = pl.read_parquet(out / "data" / "*.parquet").sort("pull_number")
    assert tasks["pull_number"].to_list() == [1, 3]
    assert tasks["FAIL_TO_PASS"].to_list() == [
        ["tests/test_evolving.py::test_double"],
        ["tests/test_half.py::test_half"],
    ]
    tags = tasks["image"].struct.field("tag").to_list()
    assert len(set(tags)) == 2  # two dependency states, two images
    for tag in tags:
        assert engine.images.get(tag)
    first, second = tasks["env_attempts"].to_list()
    assert [a["succeeded"] for a in first] == [False, True]
    assert "No module named 'six'" in first[0]["reason"]
    assert first[1]["extras"] == ["test", "dev"]  # the extra that brings the missing module
    assert first[1]["extra_packages"] == ["pytest"]
    assert [a["succeeded"] for a in second] == [True]
    configs = tasks["install_config"].to_list()
    assert {str(c["exclude_newer"])[:10] for c in configs} == {"2024-03-02"}
    assert configs[1]["extras"] == ["test"]
