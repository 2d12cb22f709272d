"""Find the git objects of a task's base commit: a dataset stores patches, not repositories.

Consumers (``taskforge evaluate``, RL environments) rebuild a task's base tree from git objects,
as validation did. Where they come from, in this order:

1. every source given (``--source``): a working clone, a bare mirror, or a git URL, which is
   mirrored once into ``CACHE/repos/`` exactly as ``backfill`` mirrors it
   (``pipeline.backfill.source``);
2. every git repository already in the cache folder (``CACHE/repos/*``, the mirrors ``backfill``
   made of URL and GitHub sources, and ``CACHE/*``, where ``taskforge demo`` writes its sample
   repository). ``CACHE`` is ``--cache-dir``, else ``$TASKFORGE_CACHE``, else
   ``data/cache`` in the working folder, as for ``backfill``.

A task is served by the first repository that holds its base commit. When none does,
``UserInputError`` names the task, the commit and the repository, and says what to pass.
Repositories are kept as paths and opened per use, so threads never share a ``git.Repo``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import git

from pipeline.backfill.source import open_source
from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import UserInputError
from pipeline.core.records import Task
from validators.regrade import BaseCommit
from validators.states import export_tree


class BaseTrees:
    """The repositories that may hold tasks' base commits, searched in order."""

    def __init__(self, sources: Sequence[str] = (), cache_dir: Path | None = None) -> None:
        cache_dir = default_cache_dir() if cache_dir is None else cache_dir
        given = [Path(open_source(source, cache_dir).git_dir) for source in sources]
        self.repositories = list(dict.fromkeys([*given, *cached_repositories(cache_dir)]))
        self.described = ", ".join(sources) if sources else f"the repositories in {cache_dir}/"
        self._found: dict[str, Path] = {}
        self._lock = threading.Lock()

    def base_commit(self, task: Task) -> BaseCommit:
        """The repository holding ``task``'s base commit; ``UserInputError`` when none does."""
        with self._lock:
            found = self._found.get(task.base_commit)
        if found is None:
            found = next((p for p in self.repositories if has_commit(p, task.base_commit)), None)
            if found is None:
                raise UserInputError(
                    f"{task.instance_id}: base commit {task.base_commit[:12]} of {task.repo} is "
                    f"not in {self.described or 'any source'}; pass --source with a clone, "
                    f"mirror or URL of {task.repo}"
                )
            with self._lock:
                self._found[task.base_commit] = found
        return BaseCommit(found, task.base_commit)

    def check(self, tasks: Iterable[Task]) -> None:
        """Fail on the first task whose base commit no repository holds."""
        for task in tasks:
            self.base_commit(task)

    def export(self, task: Task, tree: Path) -> BaseCommit:
        """Write ``task``'s base tree (no ``.git``) to ``tree``, which must not exist."""
        base = self.base_commit(task)
        repo = git.Repo(base.repo_path)
        try:
            export_tree(repo, base.commit, tree)
        finally:
            repo.close()
        return base


def cached_repositories(cache_dir: Path) -> list[Path]:
    """Git repositories directly in ``cache_dir`` and in ``cache_dir/repos``, by name."""
    found = []
    for folder in (cache_dir / "repos", cache_dir):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            try:
                found.append(Path(git.Repo(candidate).git_dir))
            except (git.InvalidGitRepositoryError, git.NoSuchPathError, NotADirectoryError):
                continue
    return found


def has_commit(repo_path: Path, commit: str) -> bool:
    """Whether the repository at ``repo_path`` holds ``commit``."""
    repo = git.Repo(repo_path)
    try:
        repo.git.cat_file("-e", f"{commit}^{{commit}}")
    except git.GitCommandError:
        return False
    finally:
        repo.close()
    return True
