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

import contextlib
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TypeVar

import git

Value = TypeVar("Value")
Item = TypeVar("Item")
Files = tuple[str, ...]  # the paths a commit changes, sorted


class PatchMatcher:
    """Finds branch commits with the same patch as a PR's commits (rebase merges)."""

    def __init__(self, repo: git.Repo, branch: str) -> None:
        self.repo = repo
        self.by_files: dict[Files, list[str]] = {}
        for sha, key in _changed_files(repo, ["--no-merges", branch]).items():
            self.by_files.setdefault(key, []).append(sha)

    def equivalents(self, commits: list[str]) -> dict[str, str]:
        """Commit -> a branch commit with the same patch id, for the commits that have one."""
        keys = halving(lambda part: _changed_files(self.repo, ["--no-walk", *part]), commits)
        wanted = [c for c in commits if keys.get(c) in self.by_files]
        on_branch = sorted({s for c in wanted for s in self.by_files[keys[c]]})
        git_dir = str(self.repo.git_dir)
        with ThreadPoolExecutor(max_workers=2) as pool:  # two git pipelines side by side
            branch_ids = pool.submit(halving, lambda part: patch_ids(git_dir, part), on_branch)
            ids = halving(lambda part: patch_ids(git_dir, part), wanted)
            ids |= branch_ids.result()
        found: dict[str, str] = {}
        for commit in wanted:
            same = [s for s in self.by_files[keys[commit]] if ids.get(s, "") == ids.get(commit)]
            if same and commit in ids:
                found[commit] = same[-1]  # the oldest: where the change first landed
        return found


def patch_ids(git_dir: str, commits: list[str]) -> dict[str, str]:
    """Commit sha -> stable patch id: ``git log -p --stdin | git patch-id --stable``.

    The diffs go from one git process to the other without passing through Python.
    """
    log = ["log", "-p", "--format=commit %H", "--no-walk", "--stdin"]
    return _piped_patch_ids(git_dir, log, "".join(f"{c}\n" for c in commits))


def diff_patch_ids(git_dir: str, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Head -> stable patch id of the diff ``base..head``, for ``(base, head)`` pairs.

    ``git diff-tree --stdin`` prints each head's id before its diff, which ``git patch-id``
    reads as the diff's name.
    """
    diff_tree = ["diff-tree", "--stdin", "-p", "--no-renames", "--full-index"]
    return _piped_patch_ids(git_dir, diff_tree, "".join(f"{h} {b}\n" for b, h in pairs))


def _piped_patch_ids(git_dir: str, producer: list[str], revisions: str) -> dict[str, str]:
    if not revisions:
        return {}
    command = ["git", "--git-dir", git_dir, *producer]
    with (
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as log,
        subprocess.Popen(
            ["git", "--git-dir", git_dir, "patch-id", "--stable"],
            stdin=log.stdout,
            stdout=subprocess.PIPE,
        ) as identify,
    ):
        assert log.stdin is not None and log.stdout is not None and log.stderr is not None
        log.stdout.close()  # patch-id holds the read end now
        feed = threading.Thread(target=_write_all, args=(log.stdin, revisions))
        feed.start()
        output, _ = identify.communicate()
        feed.join()
        error = log.stderr.read()
        if log.wait() != 0:
            raise subprocess.CalledProcessError(log.returncode, command, stderr=error)
    ids: dict[str, str] = {}
    for line in output.decode().splitlines():
        patch_id, sha = line.split()
        ids[sha] = patch_id
    return ids


def _write_all(pipe: IO[bytes], text: str) -> None:
    try:
        pipe.write(text.encode())
    except BrokenPipeError:
        pass  # git stopped reading (a missing object); its exit status says so
    finally:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


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


def halving(
    read: Callable[[list[Item]], dict[str, Value]], commits: list[Item]
) -> dict[str, Value]:
    """``read(commits)``, halving the list around commits whose objects are missing."""
    if not commits:
        return {}
    try:
        return read(commits)
    except (git.GitCommandError, subprocess.CalledProcessError):
        if len(commits) == 1:
            return {}
        middle = len(commits) // 2
        return halving(read, commits[:middle]) | halving(read, commits[middle:])
