"""Which commits have a patch-equivalent commit on a branch, as ``git cherry`` decides it.

Two commits with the same patch id change the same files, so a PR commit can only have a
patch-equivalent among the branch commits that change exactly its files. Those are found from
one ``git log --name-only`` (no file contents compared); patch ids (``git patch-id --stable``)
are then computed for the few commits that share a file set, not for the whole history and
every PR ref. Objects missing from a mirror (closed PRs' refs often lack them) fail a
whole ``git log``; the commits are then halved until the failing ones stand alone and are
skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TypeVar

import git

Value = TypeVar("Value")
Files = tuple[str, ...]  # the paths a commit changes, sorted


class PatchMatcher:
    def __init__(self, repo: git.Repo, branch: str) -> None:
        self.repo = repo
        self.by_files: dict[Files, list[str]] = {}
        for sha, key in _changed_files(repo, ["--no-merges", branch]).items():
            self.by_files.setdefault(key, []).append(sha)

    def equivalents(self, commits: list[str]) -> dict[str, str]:
        """Commit -> a branch commit with the same patch id, for the commits that have one."""
        keys = _halving(lambda part: _changed_files(self.repo, ["--no-walk", *part]), commits)
        wanted = [c for c in commits if keys.get(c) in self.by_files]
        on_branch = sorted({s for c in wanted for s in self.by_files[keys[c]]})
        ids = _halving(lambda part: patch_ids(self.repo, ["--no-walk", *part]), wanted + on_branch)
        found: dict[str, str] = {}
        for commit in wanted:
            same = [s for s in self.by_files[keys[commit]] if ids.get(s, "") == ids.get(commit)]
            if same and commit in ids:
                found[commit] = same[-1]  # the oldest: where the change first landed
        return found


def patch_ids(repo: git.Repo, log_args: list[str]) -> dict[str, str]:
    """Commit sha -> stable patch id, for the commits ``git log`` selects."""
    diff = repo.git.log("-p", "--format=commit %H", *log_args)
    if not diff.strip():
        return {}
    output = subprocess.run(
        ["git", "--git-dir", repo.git_dir, "patch-id", "--stable"],
        input=diff + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ids: dict[str, str] = {}
    for line in output.splitlines():
        patch_id, sha = line.split()
        ids[sha] = patch_id
    return ids


def _changed_files(repo: git.Repo, log_args: list[str]) -> dict[str, Files]:
    """Commit -> the paths it changes; commits that change nothing are left out."""
    output = repo.git.log("--format=%x00%H", "--name-only", "--no-renames", *log_args)
    keys: dict[str, Files] = {}
    for record in output.split("\x00")[1:]:
        sha, *paths = record.split("\n")
        changed = tuple(sorted(p for p in paths if p))
        if changed:
            keys[sha.strip()] = changed
    return keys


def _halving(read: Callable[[list[str]], dict[str, Value]], commits: list[str]) -> dict[str, Value]:
    """``read(commits)``, halving the list around commits whose objects are missing."""
    if not commits:
        return {}
    try:
        return read(commits)
    except git.GitCommandError:
        if len(commits) == 1:
            return {}
        middle = len(commits) // 2
        return _halving(read, commits[:middle]) | _halving(read, commits[middle:])
