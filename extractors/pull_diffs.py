"""The diffs of many PRs from one ``git diff-tree --stdin`` process, split per file.

``git diff-tree --stdin`` reads lines ``<head> <base>`` and prints, for each pair whose diff is
not empty, the head's id on a line of its own and then the diff from base to head. A diff
body cannot hold such a line (every body line starts with a marker, and a base85 line of a
binary patch is never 40 or 64 characters of hex), so the output splits on them exactly.

Paths are not octal-quoted (``core.quotePath=false``), so a file named ``é.py`` is classified
and listed by its name. Diffs are full-index binary patches, read as UTF-8 with surrogate
escapes so that text which is not UTF-8 survives the split and is found later
(``unsupported_encoding``). A diff that needs an object the repository lacks (a partial clone,
a mirror without its largest files) fails the whole batch; the batch is then halved until the
failing pairs stand alone, and those are left out of the answer (``missing_object``).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter

import git

from pipeline.core.diffs import file_sections as file_sections
from pipeline.core.git_trees import path_of

GIT = ("git", "-c", "core.quotePath=false")
DIFF_OPTIONS = ("-p", "--binary", "--no-renames", "--full-index", "--no-color", "--no-ext-diff")
OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
OBJECT_NAMED = re.compile(r"\b([0-9a-f]{40}|[0-9a-f]{64})\b")


def pull_diffs(
    git_dir: str | os.PathLike[str], pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``(base, head)`` -> the diff from base to head, for every pair whose objects are there."""
    heads = Counter(head for _, head in set(pairs))
    batched = sorted({p for p in pairs if heads[p[1]] == 1}, key=lambda p: p[1])
    found = _halving(str(git_dir), batched)
    for pair in set(pairs) - set(batched):  # one head with several bases: one process each
        found |= _halving(str(git_dir), [pair])
    return found


def _halving(git_dir: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not pairs:
        return {}
    try:
        diffs = _diff_tree(git_dir, pairs)
    except subprocess.CalledProcessError:
        if len(pairs) == 1:
            return {}
        middle = len(pairs) // 2
        return _halving(git_dir, pairs[:middle]) | _halving(git_dir, pairs[middle:])
    return {pair: diffs.get(pair[1], "") for pair in pairs}


def _diff_tree(git_dir: str, pairs: list[tuple[str, str]]) -> dict[str, str]:
    if not pairs:
        return {}
    lines = "".join(f"{head} {base}\n" for base, head in pairs)
    output = subprocess.run(
        [*GIT, "--git-dir", git_dir, "diff-tree", "--stdin", *DIFF_OPTIONS],
        input=lines.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", errors="surrogateescape")
    expected = {head for _, head in pairs}
    diffs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines(keepends=True):
        name = line.rstrip("\n")
        if name in expected and OBJECT_ID.match(name):
            current = diffs.setdefault(name, [])
        elif current is not None:
            current.append(line)
    return {head: "".join(parts) for head, parts in diffs.items()}


def missing_object_detail(repo: git.Repo, base: str, head: str) -> str:
    """Why the diff ``base..head`` cannot be read: the path and object, and git's own line."""
    git_dir = str(repo.git_dir)
    failed = subprocess.run(
        [*GIT, "--git-dir", git_dir, "diff-tree", "-p", "--binary", base, head],
        capture_output=True,
    )
    lines = failed.stderr.decode("utf-8", errors="replace").strip().splitlines()
    reason = lines[-1] if lines else "git could not read the diff"
    named = OBJECT_NAMED.search(reason)
    object_id = named.group(1) if named else ""
    path = path_of(repo, base, object_id) or path_of(repo, head, object_id)
    where = f"{path} (object {object_id[:12]})" if path else "an object"
    return f"{git_dir} lacks {where} of {base[:12]}..{head[:12]}: {reason}"
