"""What workers on other machines need, checked before any work, and opened where they run."""

from __future__ import annotations

import pickle
from pathlib import Path

import git
import pytest

from dockerfiles.environment import EnvironmentFailed
from pipeline.backfill.request import BackfillRequest, TaskRunnerSpec
from pipeline.backfill.worker_repo import (
    check_build_on_workers,
    check_worker_source,
    logs_dir,
    repository,
)
from pipeline.core.errors import (
    DockerUnavailable,
    MissingObjectError,
    TransientError,
    UserInputError,
)
from tests.taskforge_cli import run

REMOTE = TaskRunnerSpec.parse("dask://127.0.0.1:8786")


def request(source: str, tmp_path: Path, **fields: object) -> BackfillRequest:
    return BackfillRequest(
        source=source, repo="o/n", out=tmp_path / "out", cache_dir=tmp_path / "c", **fields
    )


def test_workers_elsewhere_cannot_open_a_local_path(tmp_path: Path) -> None:
    remote = request(str(tmp_path), tmp_path, task_runner=REMOTE, registry="127.0.0.1:5000/t")
    with pytest.raises(UserInputError, match="cannot open the local path"):
        check_worker_source(remote)
    shared = remote.model_copy(update={"worker_source": "/mnt/mirrors/n.git"})
    check_worker_source(shared)  # the user says every worker mounts it
    check_worker_source(request(str(tmp_path), tmp_path))  # threads: the flow's own path


def test_workers_elsewhere_need_a_registry(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="--registry"):
        check_worker_source(request("https://example.org/o/n.git", tmp_path, task_runner=REMOTE))
    with pytest.raises(UserInputError, match="--registry"):
        check_build_on_workers(request("s", tmp_path, build_on_workers=True))


def test_the_command_says_so_in_one_line(tmp_path: Path) -> None:
    git.Repo.init(tmp_path / "r")
    done = run(
        "backfill",
        str(tmp_path / "r"),
        "--repo",
        "o/n",
        "--out",
        str(tmp_path / "out"),
        "--task-runner",
        "dask://127.0.0.1:9",
    )
    assert done.returncode == 2, done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "cannot open the local path" in lines[0], lines


def commit(path: Path) -> str:
    repo = git.Repo.init(path)
    (path / "a.txt").write_text("a\n")
    repo.index.add(["a.txt"])
    return repo.index.commit("first").hexsha


def test_a_worker_mirrors_the_url_into_its_own_cache_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = commit(tmp_path / "upstream")
    url = f"file://{tmp_path / 'upstream'}"
    monkeypatch.setenv("TASKFORGE_CACHE", str(tmp_path / "worker"))
    remote = request(url, tmp_path, task_runner=REMOTE, registry="127.0.0.1:5000/t")
    opened = repository(remote, "/nowhere/on/this/worker", [first])
    assert Path(opened.git_dir).is_relative_to(tmp_path / "worker" / "repos")
    assert logs_dir(remote) == tmp_path / "worker" / "logs" / "o__n"
    upstream = git.Repo(tmp_path / "upstream")
    (tmp_path / "upstream" / "b.txt").write_text("b\n")
    upstream.index.add(["b.txt"])
    second = upstream.index.commit("second").hexsha
    again = repository(remote, "/nowhere", [first, second])  # missing: fetched once more
    assert again.git_dir == opened.git_dir
    with pytest.raises(TransientError, match="no commit"):
        repository(remote, "/nowhere", ["0" * 40])


@pytest.mark.parametrize(
    "error",
    [
        EnvironmentFailed("o/n", [], "every attempt failed"),
        MissingObjectError("o/n", "c" * 40, "src/a.py", "b" * 40, "not fetched"),
        DockerUnavailable("refused"),
        UserInputError("plain"),
    ],
)
def test_errors_raised_on_a_worker_reach_the_flow_whole(error: Exception) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert back.__dict__ == error.__dict__
