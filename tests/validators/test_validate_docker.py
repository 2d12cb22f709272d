"""Validation of sample candidates in real containers, state by state."""

from __future__ import annotations

import docker
import git
import pytest

from dockerfiles.environment import Environment
from extractors.candidates import build_candidate
from extractors.git_history import find_merged_pulls
from pipeline.core.records import Outcome, Task
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME
from validators.sandbox import SandboxLimits
from validators.states import prepare_states
from validators.validate import Repeats, validate_candidate

pytestmark = pytest.mark.docker


def _candidate(repo: git.Repo, number: int) -> Task:
    pull = next(p for p in find_merged_pulls(repo, "main") if p.number == number)
    return build_candidate(repo, SAMPLE_REPO_NAME, pull)


def test_squash_candidate_verifies(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment
) -> None:
    task = validate_candidate(
        _candidate(sample_repo, 2),
        sample_repo,
        engine,
        sample_env.image,
        SandboxLimits(timeout_s=120),
    )
    assert task.outcome is Outcome.VERIFIED, task.outcome_detail
    assert task.FAIL_TO_PASS == ["tests/test_core.py::test_title_case"]
    assert [(r.state, r.repeat) for r in task.runs] == [
        ("base", 0),
        ("before", 0),
        ("before", 1),
        ("after", 0),
        ("after", 1),
        ("after", 2),
    ]
    assert [r.exit_code for r in task.runs] == [0, 1, 1, 0, 0, 0]
    assert all(r.peak_memory_bytes > 1_000_000 for r in task.runs)
    assert task.flaky_tests == []
    assert task.image == sample_env.image


def test_patch_that_does_not_apply(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment
) -> None:
    task = _candidate(sample_repo, 2)
    # every context line now disagrees with the base commit
    broken = task.model_copy(update={"patch": task.patch.replace("\n ", "\n #")})
    result = validate_candidate(
        broken, sample_repo, engine, sample_env.image, SandboxLimits(), Repeats(before=1, after=1)
    )
    assert result.outcome is Outcome.PATCH_DOES_NOT_APPLY
    assert "fix patch" in result.outcome_detail
    assert result.runs == []


def test_states_hold_no_git_history(sample_repo: git.Repo) -> None:
    states = prepare_states(sample_repo, _candidate(sample_repo, 1))
    for tree in (states.base, states.before, states.after):
        assert b"repo/.git/" not in tree
    assert states.targets == ["tests/test_core.py", "tests/test_words.py"]
    assert states.base_targets == ["tests/test_core.py"]  # test_words.py comes with the patch
    assert states.python_path == "/repo"


def test_no_leak_of_the_answer(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment
) -> None:
    """Inside a task's container: no history, no later file, no installed copy of the project."""
    from validators.sandbox import run_sandboxed

    task = _candidate(sample_repo, 1)  # based on the first commit; the image is set up later
    states = prepare_states(sample_repo, task)
    probe = (
        "cd /repo; ls -a; test -e .git && git log --all --format=%H; "
        "find / -xdev -name 'test_truncate.py' -o -xdev -path '*site-packages/tinytext*' "
        "2>/dev/null; grep -c 'def title_case' tinytext/core.py || true"
    )
    run = run_sandboxed(
        engine,
        sample_env.image.tag,
        states.before,
        ["sh", "-c", probe],
        {},
        [],
        SandboxLimits(timeout_s=60),
    )
    assert run.exit_code == 0, run.output
    listing = run.output.split()
    assert ".git" not in listing
    assert "test_truncate.py" not in run.output  # added by PR #8, long after this base
    assert "site-packages/tinytext" not in run.output  # the image holds no copy of the project
    assert listing[-1] == "0"  # PR #2's function, merged after this base, is not there
    assert sample_env.setup_commit != task.base_commit
