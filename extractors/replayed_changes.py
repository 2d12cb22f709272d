"""One task per change: PRs whose changes have the same patch id are kept once.

Mining the whole ancestry of a branch meets the same change more than once: a fix merged into
``main`` and backported to ``2.0.x`` by a PR of its own, or cherry-picked under another number.
Two such PRs have equal ``base..head`` patch ids (``git patch-id --stable``, which ignores line
numbers and whitespace). Only PRs that change the same set of files can be equal, so the file
sets of every PR are read first (one ``git diff-tree --stdin --name-only``) and patch ids are
computed for the few PRs that share one. Of each set of equals the PR whose fix lies on the
target's first-parent line is kept, else the one merged first; the others' numbers go to its
``duplicates``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from extractors.pull_diffs import GIT
from extractors.rebase_merges import diff_patch_ids, halving

if TYPE_CHECKING:
    from extractors.git_history import MergedPull


def drop_replayed(
    git_dir: str | os.PathLike[str], pulls: list[MergedPull], first_parent_line: set[str]
) -> list[MergedPull]:
    """``pulls`` with one PR kept per change, the duplicates' numbers recorded on it."""
    heads = Counter(p.head_commit for p in pulls)
    unique = [p for p in pulls if heads[p.head_commit] == 1]
    by_files: dict[tuple[str, ...], list[MergedPull]] = defaultdict(list)
    files_of = _changed_files(str(git_dir), unique)
    for pull in unique:
        if pull.head_commit in files_of:
            by_files[files_of[pull.head_commit]].append(pull)
    sharing = [p for group in by_files.values() if len(group) > 1 for p in group]
    if not sharing:
        return pulls
    pairs = [(p.base_commit, p.head_commit) for p in sharing]
    ids = halving(lambda part: diff_patch_ids(str(git_dir), part), pairs)
    equals: dict[str, list[MergedPull]] = defaultdict(list)
    for pull in sharing:
        if pull.head_commit in ids:
            equals[ids[pull.head_commit]].append(pull)
    replaced: dict[int, MergedPull | None] = {}
    for group in equals.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda p: (p.fix_commit not in first_parent_line, p.merged_at, p.number))
        kept, others = group[0], group[1:]
        numbers = tuple(sorted({*kept.duplicates, *(p.number for p in others)}))
        replaced[kept.number] = dataclasses.replace(kept, duplicates=numbers)
        replaced.update({p.number: None for p in others})
    result = [replaced.get(p.number, p) for p in pulls]
    return [p for p in result if p is not None]


def _changed_files(git_dir: str, pulls: list[MergedPull]) -> dict[str, tuple[str, ...]]:
    """Head -> the sorted paths ``base..head`` changes (heads with an empty diff left out)."""
    lines = "".join(f"{p.head_commit} {p.base_commit}\n" for p in pulls)
    output = subprocess.run(
        [*GIT, "--git-dir", git_dir, "diff-tree", "--stdin", "-r", "--name-only", "--no-renames"],
        input=lines.encode(),
        capture_output=True,
        check=False,  # a missing object ends the output early: those PRs are kept as they are
    ).stdout.decode("utf-8", errors="surrogateescape")
    expected = {p.head_commit for p in pulls}
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line in expected:
            current = files.setdefault(line, [])
        elif current is not None and line:
            current.append(line)
    return {head: tuple(sorted(paths)) for head, paths in files.items()}
