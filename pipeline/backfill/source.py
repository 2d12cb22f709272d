"""Open the git repository a backfill mines: a working clone, a bare mirror, a git URL, or a
GitHub repository named ``OWNER/NAME``.

A URL is mirrored once into the cache folder (``git clone --mirror``, which brings GitHub's
``refs/pull/*`` as well) and fetched incrementally on later runs. A GitHub name is mirrored the
same way from the clone URL its API reports (so Enterprise servers and mirrors work), with the
API's credentials passed to git through the environment, never in a URL or a config file.
``blobless=True`` mirrors with ``--filter=blob:none``: commits and trees only, file contents
fetched on demand from the URL (the promisor remote) when a tree is read; a server that does
not filter answers with a full mirror. A local bare mirror that lacks its ``config`` file (as
some copying tools leave it) is named as such, with the command that repairs it.
Bad input is a ``UserInputError`` naming the path.

The cache folder is explicit: ``--cache-dir``, else ``$TASKFORGE_CACHE``, else ``data/cache``
in the working folder (``pipeline.core.cache.default_cache_dir``), for every entry point alike.
"""

from __future__ import annotations

import fcntl
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from extractors.github_access import GithubAccess
from pipeline.core.errors import UserInputError

REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
GITHUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/(?!\.\.?$)[A-Za-z0-9_.-]+$")
URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


def check_repo_name(name: str) -> str:
    """``name`` if it is ``OWNER/NAME``, else a ``UserInputError`` naming it."""
    if not REPO_NAME.match(name):
        raise UserInputError(f"--repo must be OWNER/NAME, got {name!r}")
    return name


def repo_name_from_url(url: str) -> str:
    """``OWNER/NAME`` from a git URL's last two path parts."""
    parts = re.split(r"[/:]", url.rstrip("/").removesuffix(".git"))
    if len(parts) < 2 or not parts[-1] or not parts[-2]:
        raise UserInputError(f"cannot tell OWNER/NAME from {url}; pass --repo OWNER/NAME")
    return check_repo_name(f"{parts[-2]}/{parts[-1]}")


def is_github_name(source: str) -> bool:
    """``OWNER/NAME`` that is neither a URL nor a path that exists here: a GitHub repository."""
    return bool(GITHUB_NAME.match(source)) and not Path(source).expanduser().exists()


def open_github_source(
    access: GithubAccess, repo: str, cache_dir: Path, blobless: bool = False
) -> git.Repo:
    """A mirror of GitHub repository ``repo``, fetched now, its HEAD on the default branch."""
    from extractors.github_api import GithubClient  # PyGithub: only for a GitHub source

    with GithubClient(access, repo) as client:
        found = client.repository()
        git_env = client.git_environment(found.clone_url)
        mirror = _mirror(found.clone_url, cache_dir, git_env, blobless)
    mirror.git.symbolic_ref("HEAD", f"refs/heads/{found.default_branch}")
    return mirror


def open_source(source: str, cache_dir: Path, blobless: bool = False) -> git.Repo:
    """The repository for ``source``; a URL is mirrored into ``cache_dir`` first."""
    if URL.match(source):
        return _mirror(source, cache_dir, None, blobless)
    path = Path(source).expanduser()
    if not path.exists():
        raise UserInputError(f"{source} does not exist (give a git clone, a bare mirror or a URL)")
    if not path.is_dir():
        raise UserInputError(f"{source} is a file, not a git repository")
    if _is_git_dir(path) and not (path / "config").is_file():
        raise UserInputError(
            f"{source} is a bare repository without its config file; "
            f"run `git init --bare {source}` (keeps its objects and refs) and retry"
        )
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UserInputError(f"{source} is not a git repository") from None
    if not repo.bare and repo.working_dir != str(path.resolve()):
        raise UserInputError(f"{source} is inside a git repository but is not its top folder")
    if not repo.head.is_valid():
        raise UserInputError(f"{source} is a git repository without commits")
    return repo


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _mirror(
    url: str, cache_dir: Path, git_env: dict[str, str] | None = None, blobless: bool = False
) -> git.Repo:
    target = cache_dir / "repos" / (re.sub(r"[^\w.-]+", "_", url.split("://")[-1]) + ".git")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_name(target.name + ".lock")):  # processes sharing the cache
        return _clone_or_fetch(url, target, git_env, blobless)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (released by the kernel if the holder dies)."""
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _clone_or_fetch(
    url: str, target: Path, git_env: dict[str, str] | None, blobless: bool
) -> git.Repo:
    try:
        if target.exists():
            repo = git.Repo(target)
            repo.git.remote("update", "--prune", env=git_env or {})
            return repo
        filters = ["--filter=blob:none"] if blobless else []
        partial = target.with_name(target.name + ".partial")  # a killed clone's, if any
        shutil.rmtree(partial, ignore_errors=True)
        git.Repo.clone_from(url, partial, multi_options=["--mirror", *filters], env=git_env)
        partial.rename(target)  # a mirror is there whole or not at all
        return git.Repo(target)
    except git.GitCommandError as error:
        detail = (error.stderr or "").strip().splitlines()
        raise UserInputError(
            f"cannot fetch {url}: {detail[-1] if detail else 'git failed'}"
        ) from None
