"""Build the states of a candidate on the host, from git objects, as tars for the sandbox.

*base* is the base commit's tree (no ``.git``: nothing newer than the base commit can leak into
a container); *before* adds the test patch; *after* adds the fix patch as well. Patches are
applied here, outside any container, so test code never sees the fix before it is applied.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import git

from pipeline.core.errors import TerminalError
from pipeline.core.git_trees import archive_tree, git_apply
from pipeline.core.languages import Language
from pipeline.core.paths import is_test_module
from pipeline.core.records import Task
from validators.language_runs import manifests_of

SANDBOX_UID = 1000


class PatchDoesNotApply(TerminalError):
    """A patch does not apply at the base commit; the message names the patch and git's line."""


@dataclass(frozen=True)
class States:
    """The three trees of a candidate (tar archives) and the test files to run on them."""

    base: bytes
    before: bytes
    after: bytes
    targets: list[str]  # test files to run in before and after
    base_targets: list[str]  # those of them that already exist at the base commit
    python_path: str
    manifests: dict[str, str] = field(default_factory=dict)  # go.mod, Cargo.toml (not Python)


def prepare_states(repo: git.Repo, task: Task) -> States:
    """The base, before and after trees of ``task``, built from git objects."""
    with tempfile.TemporaryDirectory(prefix="taskforge-tree-") as work:
        tree = Path(work) / "repo"
        export_tree(repo, task.base_commit, tree)
        base = tar_tree(tree)
        base_targets = [p for p in test_targets(task, tree) if (tree / p).exists()]
        apply_patch(tree, task.test_patch, "test patch")
        before = tar_tree(tree)
        apply_patch(tree, task.patch, "fix patch")
        after = tar_tree(tree)
        targets = test_targets(task, tree)
        return States(
            base,
            before,
            after,
            targets,
            [t for t in base_targets if t in targets],
            python_path_for(tree),
            manifests_of(tree) if task.language is not Language.PYTHON else {},
        )


@contextmanager
def tree_before_fix(repo: git.Repo, task: Task) -> Iterator[Path]:
    """A temporary folder holding the base commit's files with the test patch applied."""
    with tempfile.TemporaryDirectory(prefix="taskforge-tree-") as work:
        tree = Path(work) / "repo"
        export_tree(repo, task.base_commit, tree)
        apply_patch(tree, task.test_patch, "test patch")
        yield tree


def export_tree(repo: git.Repo, commit: str, tree: Path) -> None:
    """The files of ``commit`` under ``tree``, without any git history."""
    tree.mkdir()
    archive = io.BytesIO()
    archive_tree(repo, commit, archive)
    archive.seek(0)
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(tree, filter="data")


def python_path_for(tree: Path) -> str:
    """The container's PYTHONPATH for ``tree``: ``src/`` first when the project has one."""
    return ":".join(["/repo/src"] * (tree / "src").is_dir() + ["/repo"])


def test_targets(task: Task, tree: Path) -> list[str]:
    """The test modules the test patch touches that exist in ``tree``; else their folders."""
    present = [p for p in task.test_files if (tree / p).is_file()]
    if task.language is not Language.PYTHON:  # the runner's spec selects among them
        return present
    modules = [p for p in present if is_test_module(p)]
    if modules:
        return modules
    return sorted({str(Path(p).parent) for p in present if (tree / p).parent.is_dir()})


def tar_tree(tree: Path) -> bytes:
    """A tar of ``tree`` as ``repo/...``, owned by the sandbox user."""

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = SANDBOX_UID
        info.uname = info.gname = "taskforge"
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(tree, arcname="repo", filter=owned)
    return buffer.getvalue()


def apply_patch(tree: Path, patch: str, name: str) -> None:
    """Apply ``patch`` to ``tree`` with ``git apply``; ``PatchDoesNotApply`` names ``name``."""
    problem = git_apply(tree, patch)
    if problem:
        raise PatchDoesNotApply(f"{name}: {problem}")


def applies(tree: Path, patch: str) -> str:
    """Why ``patch`` does not apply to ``tree`` (git's first line), "" when it does; the tree
    is left as it is (``git apply --check``)."""
    return git_apply(tree, patch, "--check")
