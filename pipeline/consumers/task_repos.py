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

A task is served by the first repository that holds its base commit. When none does, a task
with an instance image is served from the ``/testbed`` of that image
(``pipeline.consumers.testbeds``): no clone is needed on the host. Otherwise
``UserInputError`` names the task, the commit and the repository, and says what to pass.
Repositories are kept as paths and opened per use, so threads never share a ``git.Repo``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import git

from pipeline.backfill.source import open_source
from pipeline.consumers.testbeds import testbed_commit
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
        self.cache_dir = cache_dir
        self._holders: dict[str, Path | None] = {}  # base commit -> repository holding it
        self._testbeds: dict[str, BaseCommit] = {}  # instance id -> its image's /testbed
        self._lock = threading.Lock()

    def base_commit(self, task: Task) -> BaseCommit:
        """The repository holding ``task``'s base commit; ``UserInputError`` when none does."""
        held = self._holder(task.base_commit)
        if held is not None:
            return BaseCommit(held, task.base_commit)
        if task.instance_image is None:
            raise self._not_held(task)
        with self._lock:
            found = self._testbeds.get(task.instance_id)
        if found is None:
            found = testbed_commit(task, self.cache_dir)
            with self._lock:
                self._testbeds[task.instance_id] = found
        return found

    def check(self, tasks: Iterable[Task]) -> None:
        """Fail on the first task whose base commit no repository holds, nor an instance image."""
        for task in tasks:
            if task.instance_image is None and self._holder(task.base_commit) is None:
                raise self._not_held(task)

    def _holder(self, commit: str) -> Path | None:
        """The first repository holding ``commit``, asked once per commit (None: none does)."""
        with self._lock:
            if commit in self._holders:
                return self._holders[commit]
        held = next((p for p in self.repositories if has_commit(p, commit)), None)
        with self._lock:
            self._holders[commit] = held
        return held

    def _not_held(self, task: Task) -> UserInputError:
        return UserInputError(
            f"{task.instance_id}: base commit {task.base_commit[:12]} of {task.repo} is not in "
            f"{self.described or 'any source'} and the task has no instance image; pass "
            f"--source with a clone, mirror or URL of {task.repo}"
        )

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
