"""Read a commit's files out of git, and say which object is missing when that fails.

Real repositories lack objects: a blobless or partial clone (``--filter=blob:none``) whose
promisor remote is gone or unreachable, a mirror that left its largest files out, a damaged
pack. ``git archive`` then stops with ``fatal: unable to read <sha>`` (or a promisor fetch
error); ``archive_tree`` turns that into a ``MissingObjectError`` naming the path and the
object at that commit, so the one environment or candidate that needs it gets a recorded
outcome and the run goes on. In a partial clone whose promisor remote answers, git fetches the
missing objects on demand and nothing fails.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import BinaryIO

import git

from pipeline.core.errors import MissingObjectError

OBJECT_ID = re.compile(r"\b([0-9a-f]{40}|[0-9a-f]{64})\b")


def git_apply(tree: Path, patch: str, *options: str) -> str:
    """Apply ``patch`` to the plain folder ``tree`` (no repository: git never looks above
    it), with ``git apply``'s ``options``; "" when it applied, else git's first line."""
    if not patch:
        return ""
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", *options, "-"],
        cwd=tree,
        input=patch.encode(),
        capture_output=True,
        check=False,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)},  # not in any repo
    )
    if result.returncode == 0:
        return ""
    message = result.stderr.decode(errors="replace").strip().splitlines()
    return message[0] if message else "git apply failed"


def archive_tree(
    repo: git.Repo, commit: str, handle: BinaryIO, paths: list[str] | None = None
) -> None:
    """Write the files of ``commit`` (or only ``paths``) to ``handle`` as a tar archive."""
    try:
        if paths is None:
            repo.archive(handle, commit, format="tar")
        else:
            repo.archive(handle, commit, format="tar", path=paths)
    except git.GitCommandError as error:
        raise missing_object(repo, commit, error) from None


def missing_object(repo: git.Repo, commit: str, error: git.GitCommandError) -> MissingObjectError:
    """The error to raise for a failed read of ``commit``: the object, its path, git's line."""
    stderr = error.stderr if isinstance(error.stderr, str) else str(error.stderr or "")
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "fatal" in line), lines[-1] if lines else "")
    reason = reason.removeprefix("stderr: ").strip("'").strip()
    wanted = OBJECT_ID.findall(stderr.replace(commit, ""))
    object_id = wanted[0] if wanted else ""
    return MissingObjectError(
        str(repo.git_dir),
        commit,
        path_of(repo, commit, object_id),
        object_id,
        reason or "git could not read the tree",
    )


def path_of(repo: git.Repo, commit: str, object_id: str) -> str:
    """The path at which ``commit`` holds ``object_id`` (empty when it cannot be told)."""
    if not object_id:
        return ""
    try:
        listing = str(repo.git.ls_tree("-r", "-t", "-z", commit))
    except git.GitCommandError:
        return ""
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        if meta.endswith(object_id):
            return path
    return ""
