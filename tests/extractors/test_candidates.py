from __future__ import annotations

from pathlib import Path

import git
import pytest

from extractors.candidates import SizeLimits, build_candidate, referenced_issues
from extractors.git_history import MergedPull, find_merged_pulls
from pipeline.core.records import MergeKind, Outcome, ProblemSource, Task
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME

EXTRACTOR_OUTCOMES = {
    Outcome.DOCS_ONLY,
    Outcome.NO_TEST_CHANGE,
    Outcome.NO_SOURCE_CHANGE,
}


def _candidates(repo: git.Repo) -> dict[int, Task]:
    return {
        p.number: build_candidate(repo, SAMPLE_REPO_NAME, p)
        for p in find_merged_pulls(repo, "main")
    }


def test_extractor_drops_what_it_should(sample_repo: git.Repo) -> None:
    for number, task in _candidates(sample_repo).items():
        designed = DESIGNED_OUTCOMES[number]
        expected = designed if designed in EXTRACTOR_OUTCOMES else None
        assert task.outcome == expected, number


def test_patches_split_by_path(sample_repo: git.Repo) -> None:
    task = _candidates(sample_repo)[1]
    assert task.instance_id == "taskforge__tinytext-1"
    assert task.source_files == ["tinytext/core.py"]
    assert task.test_files == ["tests/test_core.py", "tests/test_words.py"]
    assert task.excluded_files == ["CHANGES.md"]
    assert "tinytext/core.py" in task.patch and "tests/" not in task.patch
    assert "tests/test_words.py" in task.test_patch
    assert "CHANGES.md" not in task.patch + task.test_patch
    assert task.referenced_issues == [11]


def test_patches_apply_at_the_base_commit(sample_repo: git.Repo, tmp_path: Path) -> None:
    for task in _candidates(sample_repo).values():
        if task.outcome is not None:
            continue
        worktree = tmp_path / task.instance_id
        sample_repo.git.worktree("add", "--detach", str(worktree), task.base_commit)
        for patch in (task.test_patch, task.patch):
            (worktree / "change.patch").write_text(patch)
            git.Repo(worktree).git.apply("change.patch")
            (worktree / "change.patch").unlink()
        sample_repo.git.worktree("remove", "--force", str(worktree))


def _one_commit_pull(tmp_path: Path, files: dict[str, bytes]) -> tuple[git.Repo, MergedPull]:
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    root = Path(repo.working_dir)
    (root / "README.md").write_text("x\n")
    repo.git.add("--all")
    repo.git.commit("-qm", "init", author="a <a@example.org>")
    base = repo.head.commit.hexsha
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    repo.git.add("--all")
    repo.git.commit("-qm", "Change (#5)", author="a <a@example.org>")
    head = repo.head.commit
    pull = MergedPull(
        5,
        MergeKind.SQUASH,
        base,
        head.hexsha,
        head.hexsha,
        head.committed_datetime,
        head.authored_datetime,
        "Change",
        ProblemSource.COMMIT_MESSAGE,
    )
    return repo, pull


def test_binary_only_source_is_dropped(tmp_path: Path) -> None:
    repo, pull = _one_commit_pull(
        tmp_path,
        {"pkg/logo.png": b"\x89PNG\x00\x01\x02", "tests/test_logo.py": b"def test(): pass\n"},
    )
    task = build_candidate(repo, "o/n", pull)
    assert task.outcome is Outcome.BINARY_ONLY
    assert "GIT binary patch" in task.patch


@pytest.mark.parametrize(
    ("limits", "detail"),
    [
        (SizeLimits(max_files=1), "files changed"),
        (SizeLimits(max_changed_lines=10), "lines changed"),
    ],
)
def test_too_large_is_dropped(tmp_path: Path, limits: SizeLimits, detail: str) -> None:
    source = "".join(f"x{i} = {i}\n" for i in range(20)).encode()
    repo, pull = _one_commit_pull(
        tmp_path, {"pkg/big.py": source, "tests/test_big.py": b"def test(): pass\n"}
    )
    task = build_candidate(repo, "o/n", pull, limits)
    assert task.outcome is Outcome.TOO_LARGE
    assert detail in task.outcome_detail


def test_referenced_issues() -> None:
    message = "Fixes #12, closes pallets/click#13 and see (#14); not a#15 nor #5"
    assert referenced_issues(message, own_number=5) == [12, 13, 14]


def test_non_utf8_change_is_dropped_and_storable(tmp_path: Path) -> None:
    repo, pull = _one_commit_pull(
        tmp_path,
        {
            "pkg/latin.py": "name = 'caf\xe9'\n".encode("latin-1"),
            "tests/test_latin.py": b"def test(): pass\n",
        },
    )
    task = build_candidate(repo, "o/n", pull)
    assert task.outcome is Outcome.UNSUPPORTED_ENCODING
    task.patch.encode("utf-8")  # storable as a Parquet string
    assert "\ufffd" in task.patch
