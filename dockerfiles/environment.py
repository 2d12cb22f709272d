"""Build a repository's environments: one per dependency state, with a fallback chain.

Planning is ``dockerfiles.plan`` (re-exported here). ``build_environment`` tries a plan's
attempts in order until one builds and passes the caller's check (the flow checks that the
tests collect at the base commit), recording every attempt and why it failed. A failed attempt
is varied before the chain goes on (``dockerfiles.build_failure``): a build that fails on a
requirement line is tried again without that line or file, and a check that reports a module
the tests import is tried again with the extra that brings it, else with its distribution
(``dockerfiles.module_sources``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import git

from dockerfiles.base import BASES, ensure_base_image
from dockerfiles.build_failure import after_missing_module, vary_after_failure
from dockerfiles.builder import EnvBuildFailed, EnvSpec, ensure_env_image
from dockerfiles.discard import discard_image
from dockerfiles.language_image import base_python
from dockerfiles.overrides import Override
from dockerfiles.plan import DEPENDENCY_PATHSPECS, EnvPlan, pin_date, plan_environment
from pipeline.core.errors import ImageBuildError, TerminalError
from pipeline.core.records import EnvAttempt, ImageRef, InstallConfig

__all__ = ["DEPENDENCY_PATHSPECS", "EnvPlan", "pin_date", "plan_environment"]

MAX_ADDED_MODULES = 3
MAX_VARIED = 3

# A check of a built image: None when usable, else the reason it is not.
ImageCheck = Callable[[ImageRef, InstallConfig], str | None]


@dataclass(frozen=True)
class Environment:
    image: ImageRef
    config: InstallConfig
    setup_commit: str
    built: bool  # False when an image with the same fingerprint already existed
    attempts: list[EnvAttempt] = field(default_factory=list)

    def with_image(self, image: ImageRef) -> Environment:
        """The same environment, its image recorded as ``image`` (pushed, with a digest)."""
        return dataclasses.replace(self, image=image)


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
    pending, tried, added, varied = list(plan.attempts), set[str](), 0, 0
    while pending:
        config = pending.pop(0)
        if config.model_dump_json(exclude={"base_image"}) in tried:
            continue
        tried.add(config.model_dump_json(exclude={"base_image"}))
        spec = _spec(client, plan, config)
        try:
            image = ensure_env_image(client, repo, spec, log_dir)
        except ImageBuildError as error:
            reason = error.reason if isinstance(error, EnvBuildFailed) else str(error)
            attempts.append(_attempt(spec.config, False, reason, error.log_path))
            following = vary_after_failure(spec.config, reason, plan.files)
            if following is not None and varied < MAX_VARIED:
                pending.insert(0, following)
                varied += 1
            continue
        problem = check(image, spec.config) if check is not None else None
        if problem is None:
            attempts.append(_attempt(spec.config, succeeded=True))
            return Environment(image, spec.config, plan.setup_commit, True, attempts)
        discard_image(client, image)  # never reused by a later run
        attempts.append(_attempt(spec.config, False, problem))
        following = after_missing_module(spec.config, problem, plan.files)
        if following is not None and added < MAX_ADDED_MODULES:
            pending.insert(0, following)
            added += 1
    reasons = "; ".join(f"{_named(a)}: {a.reason}" for a in attempts)
    raise EnvironmentFailed(plan.repo, attempts, reasons)


def _image_of_earlier_run(client: docker.DockerClient, plan: EnvPlan) -> EnvSpec | None:
    """The spec of a planned attempt whose image exists, judged on base images present."""
    for config in plan.attempts:
        for base_tag in BASES[base_python(config)].tags:
            if not client.images.list(name=base_tag):
                continue
            config = config.revised(base_image=base_tag)
            base_id = client.images.get(base_tag).id
            spec = EnvSpec(plan.repo, plan.setup_commit, config, base_id, plan.files, plan.later)
            if client.images.list(name=spec.tag):
                return spec
    return None


def _spec(client: docker.DockerClient, plan: EnvPlan, config: InstallConfig) -> EnvSpec:
    base_tag = ensure_base_image(client, base_python(config))
    config = config.revised(base_image=base_tag)
    base_id = client.images.get(base_tag).id
    return EnvSpec(plan.repo, plan.setup_commit, config, base_id, plan.files, plan.later)


def _attempt(
    config: InstallConfig, succeeded: bool, reason: str = "", log_path: str = ""
) -> EnvAttempt:
    return EnvAttempt(
        python=config.python,
        extras=config.extras,
        extra_packages=config.extra_packages,
        exclude_newer=config.exclude_newer,
        requirement_files=config.requirement_files,
        dropped_requirements=config.dropped_requirements,
        local_requirements=config.local_requirements,
        succeeded=succeeded,
        reason=reason[:300],
        log_path=log_path,
    )


class EnvironmentFailed(TerminalError):
    """Every attempt of a dependency state failed; ``attempts`` says how each did."""

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


def _named(attempt: EnvAttempt) -> str:
    """An attempt as a failure names it: its Python and extras, else its date pin."""
    if attempt.python:
        return f"py{attempt.python} {attempt.extras or ''}".strip()
    if attempt.exclude_newer:
        return f"as of {attempt.exclude_newer:%Y-%m-%d}"
    return "unpinned" if attempt.dropped_requirements else "locked"
