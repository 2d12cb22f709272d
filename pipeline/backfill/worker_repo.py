"""The repository, cache and logs a validation uses where it runs.

On the flow's machine (``threads``, a local ``dask`` cluster) a validation opens the flow's own
repository by its path. A worker of a Dask scheduler elsewhere (``--task-runner
dask://HOST:PORT``) shares nothing with the flow's machine but the network: it mirrors
``--worker-source`` (else the source itself: a git URL, or a GitHub name through the API) into
its own cache folder (``$TASKFORGE_CACHE`` of the worker, else ``data/cache`` in its working
folder), once per process, and fetches again only when a commit it needs is missing. A
``--worker-source`` that is a path is a mirror every worker mounts, opened where it is. Logs a
worker writes (instance image builds, environments built on workers) go to its own cache
folder, ``logs/<owner>__<name>``.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import git

from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.source import URL, is_github_name, open_github_source, open_source
from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import TransientError, UserInputError

_opened: dict[str, str] = {}  # what a worker opens -> the path of its copy, per process
_lock = threading.Lock()


def worker_source(request: BackfillRequest) -> str:
    """What workers elsewhere open: ``--worker-source``, else the source itself."""
    return request.worker_source or request.source


def check_worker_source(request: BackfillRequest) -> None:
    """Bad input unless workers on other machines can open the repository and get images.

    A local path is the flow machine's; workers elsewhere open it only when the user says every
    worker mounts it (``--worker-source PATH``). Their engines get environment images from a
    registry, by digest.
    """
    if not request.remote_workers:
        return
    where = worker_source(request)
    if request.worker_source is None and not (URL.match(where) or is_github_name(where)):
        raise UserInputError(
            f"--task-runner {request.task_runner} validates on workers that cannot open the "
            f"local path {where}; give a git URL as SOURCE, or --worker-source URL (or a path "
            "every worker mounts)"
        )
    if not request.registry:
        raise UserInputError(
            f"--task-runner {request.task_runner} validates on the workers' own Docker "
            "engines, which pull environment images by digest: give --registry HOST[:PORT]/NS"
        )


def check_build_on_workers(request: BackfillRequest) -> None:
    """Bad input when environments are to be built on workers that cannot share them."""
    if request.build_on_workers and not request.registry:
        raise UserInputError(
            "--build-on-workers pushes each environment a worker builds so the others pull "
            "it: give --registry HOST[:PORT]/NS"
        )


def repository(request: BackfillRequest, repo_path: str, commits: list[str]) -> git.Repo:
    """The repository holding ``commits``, opened where this validation runs."""
    if not request.remote_workers:
        return git.Repo(repo_path)
    where = worker_source(request)
    with _lock:  # one clone or fetch per process at a time; a Repo per caller (not shared)
        path = _opened.get(where)
        if path is None or _missing(git.Repo(path), commits):
            path = _opened[where] = _open(request, where)
            missing = _missing(git.Repo(path), commits)
            if missing:
                raise TransientError(f"{where} has no commit {missing[:12]} on this worker yet")
    return git.Repo(path)


def logs_dir(request: BackfillRequest) -> Path:
    """Where a validation or a build writes its logs: the dataset's, or the worker's own."""
    if not request.remote_workers:
        return request.layout().logs_dir
    return default_cache_dir() / "logs" / request.repo.replace("/", "__")


def _open(request: BackfillRequest, where: str) -> str:
    """Mirror (or fetch) ``where`` into this worker's cache folder; the path of the copy."""
    cache = default_cache_dir()
    try:
        if request.worker_source is None and is_github_name(where):
            access = request.github_access()
            repo = open_github_source(access, request.repo, cache, request.blobless)
        else:
            repo = open_source(where, cache, request.blobless)
    except UserInputError as error:  # the flow's machine opened it: this worker's trouble
        raise TransientError(f"on worker {socket.gethostname()}: {error}") from None
    return str(repo.git_dir if repo.bare else repo.working_dir)


def _missing(repo: git.Repo, commits: list[str]) -> str | None:
    """The first commit of ``commits`` that ``repo`` lacks, None when it has them all."""
    for commit in commits:
        try:
            repo.git.cat_file("-e", f"{commit}^{{commit}}")
        except git.GitCommandError:
            return commit
    return None
