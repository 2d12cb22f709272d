"""Patch ids of diff texts: ``git patch-id --stable``, which needs no repository.

Two diffs that make the same change have the same patch id whatever their line numbers, their
whitespace and the order of their files (``--stable`` sums per-file hashes), so a change mined
from a fork, a backport branch or another repository has the id of the original; a benchmark's
gold patch is compared with a task's fix the same way. The diffs of a batch go through one git
process, each preceded by a ``commit`` line of our own numbering, which git reads as its name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

GIT_PATCH_ID = ["git", "patch-id", "--stable"]


def patch_ids(patches: Sequence[str]) -> list[str]:
    """The patch id of each diff text, "" for one without a change (an empty patch)."""
    stream = []
    for number, patch in enumerate(patches):
        stream.append(f"commit {number:040x}\n")
        stream.append(patch if patch.endswith("\n") or not patch else patch + "\n")
    if not patches:
        return []
    output = subprocess.run(
        GIT_PATCH_ID,
        input="".join(stream).encode("utf-8", errors="surrogateescape"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    found: dict[int, str] = {}
    for line in output.splitlines():
        patch_id, name = line.split()
        found[int(name, 16)] = patch_id
    return [found.get(number, "") for number in range(len(patches))]


def patch_id(patch: str) -> str:
    """The patch id of one diff text ("" for an empty patch)."""
    return patch_ids([patch])[0]
