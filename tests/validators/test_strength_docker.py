"""Test strength in real containers, on a generated repository (``strength_repo``): a fix
whose tests cover one of its two hunks shows it; one whose tests cover both is 1.0; the CLI's
``--min-strength 1.0`` rejects the first as weak_tests."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import git
import polars as pl
import pytest

from dockerfiles.environment import Environment, prepare_environment
from extractors.candidates import build_candidates
from extractors.git_history import find_merged_pulls
from pipeline.core.records import Outcome, Task, WrongPatchFate, WrongPatchKind
from tests.taskforge_cli import outcomes, run
from tests.validators.strength_repo import REPO_NAME, write_strength_repo
from validators.sandbox import SandboxLimits
from validators.strength_runs import measure_strength
from validators.validate import validate_candidate

pytestmark = pytest.mark.docker
LIMITS = SandboxLimits(timeout_s=120)


@pytest.fixture(scope="module")
def shapes_repo(tmp_path_factory: pytest.TempPathFactory) -> git.Repo:
    return write_strength_repo(tmp_path_factory.mktemp("strength") / "shapes")


@pytest.fixture(scope="module")
def shapes_env(
    engine: docker.DockerClient, shapes_repo: git.Repo, tmp_path_factory: pytest.TempPathFactory
) -> Environment:
    head = shapes_repo.head.commit.hexsha
    logs = tmp_path_factory.mktemp("logs")
    return prepare_environment(engine, shapes_repo, REPO_NAME, head, logs)


def measured(
    engine: docker.DockerClient, repo: git.Repo, env: Environment, number: int
) -> tuple[Task, float]:
    """PR ``number`` validated and measured, with the check's wall time (both printed)."""
    (candidate,) = [
        c
        for c in build_candidates(repo, REPO_NAME, find_merged_pulls(repo, "main"))
        if c.pull_number == number
    ]
    started = time.monotonic()
    task = validate_candidate(candidate, repo, engine, env.image, LIMITS)
    validation = time.monotonic() - started
    assert task.verified, task.outcome_detail
    started = time.monotonic()
    task = measure_strength(task, repo, engine, env.image, LIMITS)
    strength = time.monotonic() - started
    print(
        f"\nPR {number}: validation {validation:.1f} s, strength {strength:.1f} s "
        f"({strength / validation:.2f} of the validation)"
    )
    return task, strength


def test_tests_that_cover_one_of_two_hunks_show_the_other(
    engine: docker.DockerClient, shapes_repo: git.Repo, shapes_env: Environment
) -> None:
    task, strength = measured(engine, shapes_repo, shapes_env, 1)
    assert task.FAIL_TO_PASS == ["tests/test_shapes.py::test_negative_radius"]
    fates = {w.name: w.fate for w in task.wrong_patches}
    assert fates == {
        "shapes.py @@ -2,6 +2,8 @@": WrongPatchFate.CAUGHT,
        "shapes.py @@ -18,4 +20,6 @@": WrongPatchFate.MISSED,
        "shapes.py:5: < to >=": WrongPatchFate.CAUGHT,
        "shapes.py:23: < to >=": WrongPatchFate.MISSED,
    }
    assert task.uncovered_hunks == ["shapes.py @@ -18,4 +20,6 @@"]
    assert (task.strength_tried, task.strength_caught, task.strength) == (4, 2, 0.5)
    assert 0 < task.strength_seconds <= strength + 0.01


def test_tests_that_cover_every_hunk_are_strong(
    engine: docker.DockerClient, shapes_repo: git.Repo, shapes_env: Environment
) -> None:
    task, _ = measured(engine, shapes_repo, shapes_env, 2)
    assert [w.kind for w in task.wrong_patches] == [WrongPatchKind.HUNK_LEFT_OUT] * 2
    assert all(w.fate is WrongPatchFate.CAUGHT for w in task.wrong_patches)
    assert (task.strength, task.uncovered_hunks) == (1.0, [])


def test_the_cli_rejects_weak_tests_below_min_strength(
    tmp_path: Path, prefect_api: str, shapes_repo: git.Repo, shapes_env: Environment
) -> None:
    out = tmp_path / "out"
    source = str(shapes_repo.working_dir)
    result = run(
        "backfill", source, "--repo", REPO_NAME, "--out", str(out), "--min-strength", "1.0"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert outcomes(out) == {1: Outcome.WEAK_TESTS.value, 2: Outcome.VERIFIED.value}
    rejected = pl.read_parquet(out / "rejected" / "*.parquet").row(0, named=True)
    assert rejected["outcome_detail"].startswith(
        "strength 0.50 below --min-strength 1: FAIL_TO_PASS caught 2 of 4 wrong patches"
    )
    assert rejected["uncovered_hunks"] == ["shapes.py @@ -18,4 +20,6 @@"]
    verified = pl.read_parquet(out / "data" / "*.parquet").row(0, named=True)
    assert (verified["strength"], verified["strength_tried"]) == (1.0, 2)
    stats = run("stats", str(out), env={"COLUMNS": "200"})
    assert stats.returncode == 0, stats.stderr
    assert "test strength" in stats.stdout and "weak_tests" in stats.stdout
    card = (out / "README.md").read_text()
    assert "## Test strength" in card and "| strength 1 | 1 |" in card
