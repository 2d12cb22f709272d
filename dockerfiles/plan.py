"""Plan a repository's environment at one base commit: the ordered install attempts and a key.

``plan_environment`` reads a base commit's dependency files and returns an ``EnvPlan``: the
Python of the era with packages pinned to the date the dependency state began (the detected
recipe, then every test-like extra, then the alternative requirement files one at a time), then
unpinned with every test-like extra, then the next Python unpinned. Pythons are chosen among
those available here (``dockerfiles.base.available_pythons``: every CPython 3.6-3.14 where a
registry answers). Pythons whose installer cannot pin dates (pip, on 3.6 and 3.7) are planned
unpinned, so the record says what was installed. ``key`` is equal for every base commit with
the same dependency state, so candidates are grouped by it and share one image.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import git

from dockerfiles.base import BASES, DEFAULT_PYTHON, available_pythons
from dockerfiles.installers import pins_dates
from dockerfiles.language_plan import plan_language_environment
from dockerfiles.overrides import Override, apply_override, matching
from dockerfiles.python_era import choose_pythons
from dockerfiles.recipe import (
    DEPENDENCY_FILES,
    dependency_files,
    dependency_state,
    detect_recipe,
    requirement_alternatives,
    richer_extras,
)
from pipeline.core.languages import Language
from pipeline.core.records import InstallConfig

MAX_ATTEMPTS = 6
MAX_ALTERNATIVES = 2
PYTHONS_TRIED = 2
DEPENDENCY_PATHSPECS = [
    *DEPENDENCY_FILES,
    ":(glob)*requirements*.txt",
    ":(glob)*requirements*.in",
    "requirements/",
]


@dataclass(frozen=True)
class EnvPlan:
    """A dependency state's environment: setup commit, dependency files, attempts in order."""

    repo: str
    setup_commit: str
    files: dict[str, str]
    attempts: list[InstallConfig]
    key: str
    # the dependency files after the fixes of the candidates that change them: the image
    # fetches what they name too, so a fix that adds a dependency builds offline
    later: list[dict[str, str]] = field(default_factory=list)


def plan_environment(
    repo: git.Repo,
    repo_name: str,
    base_commit: str,
    overrides: list[Override],
    available: Sequence[str] | None = None,
    language: Language = Language.PYTHON,
) -> EnvPlan:
    """The plan of the environment of ``base_commit``'s dependency state (see the module);
    a language other than Python is planned by ``dockerfiles.language_plan``."""
    if language is not Language.PYTHON:
        return plan_language_environment(repo, repo_name, base_commit, language)
    commit = repo.commit(base_commit)
    files = dependency_files(commit)
    override = matching(overrides, repo_name, commit.committed_datetime)
    pythons = (
        [override.python]
        if override and override.python
        else choose_pythons(files, list(available or available_pythons()), DEFAULT_PYTHON)[
            :PYTHONS_TRIED
        ]
    )
    state = dependency_state(files)
    pinned = pin_date(repo, base_commit, state, list(files))
    if override and override.pin_dependencies is False:
        pinned = None
    attempts = planned_attempts(files, pythons, pinned, override)
    key_source = {"state": state, "attempts": [a.fingerprint_fields() for a in attempts]}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
    return EnvPlan(repo_name, base_commit, files, attempts, key)


def planned_attempts(
    files: dict[str, str], pythons: list[str], pinned: datetime | None, override: Override | None
) -> list[InstallConfig]:
    """The attempts in the order to try them (see the module docstring), without repeats."""
    first: list[InstallConfig] = []
    alternatives: list[InstallConfig] = []
    unpinned: list[InstallConfig] = []
    era = _era_python(pythons, pinned)
    with_alternatives = era if era and pins_dates(era) else (pythons[0] if pythons else "")
    for python in pythons:
        detected = apply_override(detect_recipe(files, python, ""), override)
        richer = None
        if not (override and override.extras is not None):
            extras = richer_extras(files, detected.extras)
            richer = detected.revised(extras=extras) if extras else None
        pin = pinned if python == era and pins_dates(python) else None
        if pin is not None:
            first.append(detected.revised(exclude_newer=pin))
            if richer is not None:
                first.append(richer.revised(exclude_newer=pin))
        if python == with_alternatives:
            count = len(requirement_alternatives(files))
            for selection in range(1, min(count, MAX_ALTERNATIVES + 1)):
                other = apply_override(detect_recipe(files, python, "", selection), override)
                alternatives.append(other.revised(exclude_newer=pin))
        unpinned.append(richer or detected)
    ordered = [*first, *alternatives, *unpinned] if first else [*unpinned[:1], *alternatives]
    ordered += [] if first else unpinned[1:]
    seen: set[str] = set()
    result = []
    for attempt in ordered:
        dumped = attempt.model_dump_json()
        if dumped not in seen:
            seen.add(dumped)
            result.append(attempt)
    return result[:MAX_ATTEMPTS]


def _era_python(pythons: list[str], pinned: datetime | None) -> str | None:
    """The preferred Python that existed at the pin date: packages pinned to a date before a
    Python's release have no wheels for it (and an old sdist will not build there). When none
    existed yet (a 2020 commit where only 3.9 and later can be had), the oldest tried, the
    nearest to the era."""
    if pinned is None or not pythons:
        return None
    oldest = min(pythons, key=lambda p: BASES[p].released)
    return next((p for p in pythons if BASES[p].released <= pinned.date()), oldest)


def pin_date(
    repo: git.Repo,
    base_commit: str,
    state: dict[str, object],
    paths: Sequence[str] = (),
    read_files: Callable[[git.Commit], dict[str, str]] = dependency_files,
) -> datetime | None:
    """The day after the dependency state at ``base_commit`` began, from the history.

    Walks back through the commits that touched dependency files (and ``paths``, the files
    read at the base commit, such as those tox includes from other folders) while their state
    equals ``state`` (a version bump does not count as a change); tasks with the same state
    thus get the same date and share one image.
    """
    pathspecs = list(dict.fromkeys([*DEPENDENCY_PATHSPECS, *paths]))
    log = repo.git.log("--format=%H %cI", base_commit, "--", *pathspecs)
    began: datetime | None = None
    for line in log.splitlines()[:200]:
        sha, stamp = line.split(" ", 1)
        if dependency_state(read_files(repo.commit(sha))) != state:
            break
        began = datetime.fromisoformat(stamp)
    if began is None:
        return None
    day = began.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)
