"""Plan and build a repository's environments: one per dependency state, with a fallback chain.

``plan_environment`` reads a base commit's dependency files and returns an ``EnvPlan``: the
ordered install attempts — the Python of the era with packages pinned to the date the
dependency state began (the detected extras, then every test-like extra), then unpinned with
every test-like extra, then the next Python unpinned — and a ``key`` that is equal for
every base commit with the same dependency state, so candidates are grouped by it and share
one image. ``build_environment`` tries the attempts in order until one builds and passes the
caller's check (the flow checks that the tests collect at the base commit), recording every
attempt and why it failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import git

from dockerfiles.base import BASES, DEFAULT_PYTHON, ensure_base_image
from dockerfiles.builder import EnvSpec, ensure_env_image
from dockerfiles.overrides import Override, apply_override, matching
from dockerfiles.python_era import choose_pythons
from dockerfiles.recipe import (
    DEPENDENCY_FILES,
    dependency_files,
    dependency_state,
    detect_recipe,
    richer_extras,
)
from pipeline.errors import ImageBuildError, TerminalError
from pipeline.records import EnvAttempt, ImageRef, InstallConfig

MAX_ATTEMPTS = 5
PYTHONS_TRIED = 2
DEPENDENCY_PATHSPECS = [*DEPENDENCY_FILES, ":(glob)requirements*.txt", "requirements/"]

# A check of a built image: None when usable, else the reason it is not.
ImageCheck = Callable[[ImageRef, InstallConfig], str | None]


@dataclass(frozen=True)
class EnvPlan:
    repo: str
    setup_commit: str
    files: dict[str, str]
    attempts: list[InstallConfig]
    key: str


@dataclass(frozen=True)
class Environment:
    image: ImageRef
    config: InstallConfig
    setup_commit: str
    built: bool  # False when an image with the same fingerprint already existed
    attempts: list[EnvAttempt] = field(default_factory=list)


def plan_environment(
    repo: git.Repo, repo_name: str, base_commit: str, overrides: list[Override]
) -> EnvPlan:
    commit = repo.commit(base_commit)
    files = dependency_files(commit)
    override = matching(overrides, repo_name, commit.committed_datetime)
    pythons = (
        [override.python]
        if override and override.python
        else choose_pythons(files, list(BASES), DEFAULT_PYTHON)[:PYTHONS_TRIED]
    )
    state = dependency_state(files)
    pinned = pin_date(repo, base_commit, state)
    if override and override.pin_dependencies is False:
        pinned = None
    attempts: list[InstallConfig] = []
    for python in pythons:
        detected = apply_override(detect_recipe(files, python, ""), override)
        richer = None
        if not (override and override.extras is not None):
            extras = richer_extras(files, detected.extras)
            richer = detected.model_copy(update={"extras": extras}) if extras else None
        if pinned is not None and python == pythons[0]:
            attempts.append(detected.model_copy(update={"exclude_newer": pinned}))
            if richer is not None:
                attempts.append(richer.model_copy(update={"exclude_newer": pinned}))
        attempts.append(richer or detected)
    key_source = {"state": state, "attempts": [a.model_dump(mode="json") for a in attempts]}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
    return EnvPlan(repo_name, base_commit, files, attempts[:MAX_ATTEMPTS], key)


def pin_date(repo: git.Repo, base_commit: str, state: dict[str, object]) -> datetime | None:
    """The day after the dependency state at ``base_commit`` began, from the history.

    Walks back through the commits that touched dependency files while their state equals
    ``state`` (a version bump does not count as a change); tasks with the same state thus
    get the same date and share one image.
    """
    log = repo.git.log("--format=%H %cI", base_commit, "--", *DEPENDENCY_PATHSPECS)
    began: datetime | None = None
    for line in log.splitlines()[:200]:
        sha, stamp = line.split(" ", 1)
        if dependency_state(dependency_files(repo.commit(sha))) != state:
            break
        began = datetime.fromisoformat(stamp)
    if began is None:
        return None
    day = began.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def build_environment(
    client: docker.DockerClient,
    repo: git.Repo,
    plan: EnvPlan,
    log_dir: Path,
    check: ImageCheck | None = None,
) -> Environment:
    """The first attempt of ``plan`` that builds and passes ``check``; ImageBuildError if none."""
    attempts: list[EnvAttempt] = []
    for config in plan.attempts:
        base_tag = ensure_base_image(client, config.python)
        config = config.model_copy(update={"base_image": base_tag})
        spec = EnvSpec(
            plan.repo, plan.setup_commit, config, client.images.get(base_tag).id, plan.files
        )
        existed = bool(client.images.list(name=spec.tag))
        record = {
            "python": config.python,
            "extras": config.extras,
            "exclude_newer": config.exclude_newer,
        }
        try:
            image = ensure_env_image(client, repo, spec, log_dir)
        except TerminalError as error:
            log_path = error.log_path if isinstance(error, ImageBuildError) else ""
            attempts.append(
                EnvAttempt(**record, succeeded=False, reason=str(error)[:300], log_path=log_path)
            )
            continue
        problem = check(image, config) if check is not None else None
        if problem is not None:
            client.images.remove(image.id, force=True)  # never reused by a later run
            attempts.append(EnvAttempt(**record, succeeded=False, reason=problem[:300]))
            continue
        attempts.append(EnvAttempt(**record, succeeded=True))
        return Environment(image, config, plan.setup_commit, not existed, attempts)
    reasons = "; ".join(f"py{a.python} {a.extras or ''}: {a.reason}" for a in attempts)
    raise EnvironmentFailed(plan.repo, attempts, reasons)


class EnvironmentFailed(TerminalError):
    def __init__(self, repo: str, attempts: list[EnvAttempt], reasons: str) -> None:
        super().__init__(f"no environment for {repo} after {len(attempts)} attempts: {reasons}")
        self.attempts = attempts


def prepare_environment(
    client: docker.DockerClient,
    repo: git.Repo,
    repo_name: str,
    setup_commit: str,
    log_dir: Path,
    overrides: list[Override] | None = None,
) -> Environment:
    """Plan and build the environment of ``setup_commit`` without a check (tests, tools)."""
    plan = plan_environment(repo, repo_name, setup_commit, overrides or [])
    return build_environment(client, repo, plan, log_dir)
