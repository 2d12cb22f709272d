"""The dependency states a group's fixes lead to, which its environment image resolves too.

A fix that adds a crate, a Go module or a Maven artifact needs it in the image: its tests run
offline. Candidates share an image by the dependency state of their base commit; for each one
whose patches change a dependency file (``DEPENDENCY_FILES``), the files of the setup commit
with those changes applied (``git apply --include``, in a scratch folder) are a *later state*
(``EnvPlan.later``), and the image resolves its dependencies after the setup commit's
(``dockerfiles.language_image``). JavaScript has none: its ``node_modules`` is one state's.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from unidiff.errors import UnidiffParseError

from dockerfiles.language_recipes import DEPENDENCY_FILES
from pipeline.core.diffs import file_sections
from pipeline.core.git_trees import git_apply
from pipeline.core.languages import Language
from pipeline.core.records import Task

if TYPE_CHECKING:
    from dockerfiles.plan import EnvPlan

MAX_LATER = 6  # later states per image, the first candidates' (each costs a resolve)
RESOLVED_LATER = frozenset({Language.GO, Language.RUST, Language.JAVA})


def with_later_states(plan: EnvPlan, candidates: Sequence[Task]) -> EnvPlan:
    """``plan`` with the distinct later states of ``candidates`` (at most ``MAX_LATER``)."""
    language = plan.attempts[0].language if plan.attempts else Language.PYTHON
    if language not in RESOLVED_LATER:
        return plan
    later: list[dict[str, str]] = []
    for candidate in candidates:
        files = files_after(plan.files, candidate, DEPENDENCY_FILES[language])
        if files is not None and files != plan.files and files not in later:
            later.append(files)
    return dataclasses.replace(plan, later=later[:MAX_LATER]) if later else plan


def files_after(files: dict[str, str], task: Task, names: Sequence[str]) -> dict[str, str] | None:
    """``files`` with the changes ``task``'s patches make to dependency files (named one of
    ``names``); None when they change none, or do not apply to ``files``."""
    paths = {patch: _paths(patch) for patch in (task.test_patch, task.patch)}
    touched = sorted({p for found in paths.values() for p in found if _named(p, names)})
    if not touched:
        return None
    with tempfile.TemporaryDirectory(prefix="taskforge-later-") as work:
        tree = Path(work) / "tree"
        for path, text in files.items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_text(text)
        tree.mkdir(exist_ok=True)
        includes = [f"--include={p}" for p in touched]
        for patch in (task.test_patch, task.patch):
            if paths[patch] & set(touched) and git_apply(tree, patch, *includes):
                return None
        return {
            p.relative_to(tree).as_posix(): p.read_text(errors="replace")
            for p in sorted(tree.rglob("*"))
            if p.is_file()
        }


def _paths(patch: str) -> set[str]:
    try:
        return {parsed.path for parsed, _ in file_sections(patch)}
    except UnidiffParseError:
        return set()


def _named(path: str, names: Sequence[str]) -> bool:
    return PurePosixPath(path).name in names or path in names
