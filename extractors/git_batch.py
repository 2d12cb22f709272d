"""Many git objects in one process: ``git cat-file --batch`` and ``--batch-check``.

The extractors read what they need of many commits at once (the project facts at each base
commit, the manifests on a pull request's paths, the blobs a Rust split reads): one process
for all, never one per object.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

GIT_TIMEOUT_S = 600


def git_output(git_dir: str | os.PathLike[str], arguments: list[str], stdin: str) -> bytes:
    """What ``git ARGUMENTS`` prints for ``stdin``; ``CalledProcessError`` when it fails."""
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *arguments],
        input=stdin.encode(),
        capture_output=True,
        check=True,
        timeout=GIT_TIMEOUT_S,
    ).stdout


def read_blobs(git_dir: str | os.PathLike[str], blobs: Sequence[str]) -> dict[str, str]:
    """The text of each blob that can be read, by id (one ``git cat-file --batch``)."""
    unique = sorted(set(blobs))
    if not unique:
        return {}
    out = git_output(git_dir, ["cat-file", "--batch"], "".join(f"{b}\n" for b in unique))
    texts: dict[str, str] = {}
    at = 0
    for blob in unique:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<oid> missing": the object cannot be read
            continue
        size = int(header[2])
        texts[blob] = out[at : at + size].decode("utf-8", errors="replace")
        at += size + 1
    return texts
