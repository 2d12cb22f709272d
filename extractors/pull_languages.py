"""The language of each pull request, from the files it changes and the manifests on their paths.

For every PR, each registered manifest name (``package.json``, ``go.mod``, ``Cargo.toml``,
``pom.xml``, ``pyproject.toml``...) is looked up in every folder from the root to the folders
of the files it changes, at its base commit: one ``git cat-file --batch-check`` process for
all PRs. A manifest the PR itself adds counts too. ``pipeline.core.languages.choose_language``
decides from those; docs and CI files count for no language. Also here: reading the blobs a
Rust split needs (``blob_texts``), batched the same way.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from extractors.git_batch import git_output, read_blobs
from pipeline.core.languages import Language, choose_language, manifest_candidates
from pipeline.core.paths import FileKind, classify_path


def pull_languages(
    git_dir: str | os.PathLike[str], changes: Mapping[str, tuple[str, Sequence[str]]]
) -> dict[str, Language]:
    """PR key -> its language, for ``changes``: PR key -> (base commit, changed paths)."""
    counted = {key: (base, _counted(paths)) for key, (base, paths) in changes.items()}
    asked = sorted(
        {(base, m) for base, paths in counted.values() for m in manifest_candidates(paths)}
    )
    present = _existing(str(git_dir), asked)
    result = {}
    for key, (base, paths) in counted.items():
        candidates = manifest_candidates(paths)
        added = [p for p in changes[key][1] if p in candidates]
        found = [m for m in candidates if (base, m) in present]
        result[key] = choose_language(paths, [*found, *added])
    return result


def _counted(paths: Sequence[str]) -> list[str]:
    """The paths that may decide a language: not documentation, not CI configuration."""
    return [p for p in paths if classify_path(p) not in {FileKind.DOCS, FileKind.CI}]


def _existing(git_dir: str, asked: list[tuple[str, str]]) -> set[tuple[str, str]]:
    if not asked:
        return set()
    stdin = "".join(f"{commit}:{path}\n" for commit, path in asked)
    try:
        out = git_output(git_dir, ["cat-file", "--batch-check"], stdin)
    except (OSError, subprocess.SubprocessError):
        return set()
    lines = out.decode(errors="replace").splitlines()
    found = set()
    for pair, line in zip(asked, lines, strict=False):
        parts = line.split()  # "<oid> blob <size>", or "<commit>:<path> missing"
        if len(parts) == 3 and parts[1] == "blob":
            found.add(pair)
    return found


def blob_texts(git_dir: str | os.PathLike[str], blobs: Sequence[str]) -> dict[str, str]:
    """The text of each blob that can be read, by id; none when git cannot be run."""
    try:
        return read_blobs(git_dir, blobs)
    except (OSError, subprocess.SubprocessError):
        return {}
