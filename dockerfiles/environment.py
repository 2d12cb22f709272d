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
import re
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
MAX_ADDED_MODULES = 3
MISSING_MODULE = re.compile(r"No module named '([A-Za-z0-9_]+)")
# Import names whose distribution is named otherwise (the rest install under their own name).
MODULE_PACKAGES = {
    "yaml": "PyYAML",
    "zope": "zope.interface",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
}
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
    pinned_attempts: list[InstallConfig] = []
    unpinned: list[InstallConfig] = []
    era = _era_python(pythons, pinned)
    for python in pythons:
        detected = apply_override(detect_recipe(files, python, ""), override)
        richer = None
        if not (override and override.extras is not None):
            extras = richer_extras(files, detected.extras)
            richer = detected.model_copy(update={"extras": extras}) if extras else None
        if pinned is not None and python == era:
            pinned_attempts.append(detected.model_copy(update={"exclude_newer": pinned}))
            if richer is not None:
                pinned_attempts.append(richer.model_copy(update={"exclude_newer": pinned}))
        unpinned.append(richer or detected)
    attempts = pinned_attempts + unpinned
    key_source = {"state": state, "attempts": [a.model_dump(mode="json") for a in attempts]}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
    return EnvPlan(repo_name, base_commit, files, attempts[:MAX_ATTEMPTS], key)


def _era_python(pythons: list[str], pinned: datetime | None) -> str | None:
    """The preferred Python that existed at the pin date: packages pinned to a date before a
    Python's release have no wheels for it (and an old sdist will not build there)."""
    if pinned is None or not pythons:
        return None
    return next((p for p in pythons if BASES[p].released <= pinned.date()), pythons[-1])


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
    """The first attempt of ``plan`` that builds and passes ``check``; EnvironmentFailed if none.

    An image left by an earlier run for any planned attempt is taken as it is (images that
    failed their check were removed). When the check reports a module that the tests import
    but no attempt installed, the same attempt is tried again with that module's package
    (at most ``MAX_ADDED_MODULES`` times): test suites often import what no extra declares.
    """
    existing = _image_of_earlier_run(client, plan)
    if existing is not None:
        image = ensure_env_image(client, repo, existing, log_dir)
        return Environment(
            image,
            existing.config,
            plan.setup_commit,
            False,
            [_attempt(existing.config, succeeded=True, reason="image from an earlier run")],
        )
    attempts: list[EnvAttempt] = []
    pending, added = list(plan.attempts), 0
    while pending:
        spec = _spec(client, plan, pending.pop(0))
        try:
            image = ensure_env_image(client, repo, spec, log_dir)
        except ImageBuildError as error:
            attempts.append(_attempt(spec.config, False, str(error), error.log_path))
            continue
        problem = check(image, spec.config) if check is not None else None
        if problem is None:
            attempts.append(_attempt(spec.config, succeeded=True))
            return Environment(image, spec.config, plan.setup_commit, True, attempts)
        client.images.remove(image.id, force=True)  # never reused by a later run
        attempts.append(_attempt(spec.config, False, problem))
        module = MISSING_MODULE.search(problem)
        if module and added < MAX_ADDED_MODULES:
            package = MODULE_PACKAGES.get(module.group(1), module.group(1))
            config = spec.config.model_copy(
                update={"extra_packages": [*spec.config.extra_packages, package]}
            )
            pending.insert(0, config)
            added += 1
    reasons = "; ".join(f"py{a.python} {a.extras or ''}: {a.reason}" for a in attempts)
    raise EnvironmentFailed(plan.repo, attempts, reasons)


def _image_of_earlier_run(client: docker.DockerClient, plan: EnvPlan) -> EnvSpec | None:
    """The spec of a planned attempt whose image exists, judged on base images present."""
    for config in plan.attempts:
        base = BASES[config.python]
        for base_tag in (base.registry_tag, base.bootstrap_tag):
            if not client.images.list(name=base_tag):
                continue
            config = config.model_copy(update={"base_image": base_tag})
            spec = EnvSpec(
                plan.repo, plan.setup_commit, config, client.images.get(base_tag).id, plan.files
            )
            if client.images.list(name=spec.tag):
                return spec
    return None


def _spec(client: docker.DockerClient, plan: EnvPlan, config: InstallConfig) -> EnvSpec:
    base_tag = ensure_base_image(client, config.python)
    config = config.model_copy(update={"base_image": base_tag})
    return EnvSpec(plan.repo, plan.setup_commit, config, client.images.get(base_tag).id, plan.files)


def _attempt(
    config: InstallConfig, succeeded: bool, reason: str = "", log_path: str = ""
) -> EnvAttempt:
    return EnvAttempt(
        python=config.python,
        extras=config.extras,
        extra_packages=config.extra_packages,
        exclude_newer=config.exclude_newer,
        succeeded=succeeded,
        reason=reason[:300],
        log_path=log_path,
    )


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
