"""Plan the environment of a repository in a language other than Python, at one base commit.

The dependency files are the language's manifests and lockfiles wherever they are in the tree
(a Go module or a Cargo workspace member in a folder, a Maven module), outside vendored and
test-data folders. The recipe is ``dockerfiles.language_recipes``'s, among the toolchains this
project installs (``language_image.BUILDABLE_OFFERS``). The attempts: the lockfile as the
commit has it (or, without one, the dependencies as of the date); where a lockfile exists
and the history gives a date, resolved as of that date without it (npm's ``--before``;
cargo's fresh lockfile): a lockfile that the package manager of the era no longer reads is
common in old commits; for npm last, resolved as of today without the lockfile (a version
the lockfile or the date names may not be served).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import git

if TYPE_CHECKING:
    from dockerfiles.plan import EnvPlan

from dockerfiles.base import BASES
from dockerfiles.language_image import BUILDABLE_OFFERS, GO_MODULE, LOCKFILES, SUITE_PYTHON
from dockerfiles.language_recipes import (
    DEPENDENCY_FILES,
    detect_language_recipe,
    docs_rs_features,
)
from dockerfiles.recipe import dependency_state
from dockerfiles.toolchains import gopath_mode, java_level
from pipeline.core.languages import CARGO_FEATURES, MAVEN_FLAGS, Language
from pipeline.core.records import InstallConfig

SKIPPED_FOLDERS = {"node_modules", "vendor", "testdata", "third_party", ".git"}
MAX_FILES = 64


def language_dependency_files(commit: git.Commit, language: Language) -> dict[str, str]:
    """The language's dependency files of ``commit``, by path (at most ``MAX_FILES``)."""
    names = set(DEPENDENCY_FILES[language])
    listed = commit.repo.git.ls_tree("-r", "--name-only", commit.hexsha).splitlines()
    paths = [
        p
        for p in listed
        if PurePosixPath(p).name in names or p in names  # ".mvn/wrapper/..." by its path
        if not SKIPPED_FOLDERS & set(PurePosixPath(p).parts[:-1])
    ]
    paths.sort(key=lambda p: (p.count("/"), p))  # the root's first
    return {
        p: (commit.tree / p).data_stream.read().decode(errors="replace") for p in paths[:MAX_FILES]
    }


def plan_language_environment(
    repo: git.Repo, repo_name: str, base_commit: str, language: Language
) -> EnvPlan:
    """The ``EnvPlan`` of ``base_commit``'s dependency state in ``language``."""
    from dockerfiles.plan import EnvPlan, pin_date  # plan imports this module

    commit = repo.commit(base_commit)
    files = language_dependency_files(commit, language)
    state = dependency_state(files)
    # every place a dependency file may be, so that one added or removed counts as a change
    paths = [*files, *(f":(glob)**/{name}" for name in DEPENDENCY_FILES[language])]
    pinned = pin_date(
        repo, base_commit, state, paths, lambda c: language_dependency_files(c, language)
    )
    # the toolchain of the commit's day: a state can begin years before (a go.mod unchanged
    # since 2018), and a test of today may need today's language
    config = detect_language_recipe(
        language, files, commit.committed_datetime, pinned, BUILDABLE_OFFERS
    )
    gopath = language is Language.GO and gopath_mode(files)
    if gopath:
        module = f"{GO_MODULE}=github.com/{repo_name}"  # the import path of GOPATH's days
        config = config.revised(environment=[*config.environment, module])
    if language in {Language.GO, Language.JAVA}:  # go.mod and the POM pin their versions
        config = config.revised(exclude_newer=None)
    suite = config.base_image.rsplit(":", 1)[-1]
    config = config.revised(base_image=BASES[SUITE_PYTHON[suite]].bootstrap_tag)
    attempts = [config]
    if config.exclude_newer is None and pinned is not None and language is Language.RUST:
        attempts.append(config.revised(exclude_newer=pinned))  # a fresh Cargo.lock
    if language is Language.RUST and (features := docs_rs_features(files.get("Cargo.toml", ""))):
        # the features the crate documents itself with build its feature-gated tests too;
        # the default features are the attempts after them, should those not build
        featured = [f"{CARGO_FEATURES}={features}"]
        attempts = [a.revised(environment=[*a.environment, *featured]) for a in attempts] + attempts
    if gopath:  # nothing pins a version: first the modules as of the month's end, then today's
        attempts = [config.revised(exclude_newer=month_of(commit.committed_datetime)), config]
    if language is Language.JAVA:
        attempts = java_attempts(config)
    if language is Language.JAVASCRIPT:
        unlocked = config.revised(dropped_requirements=LOCKFILES)
        if config.exclude_newer is None and pinned is not None:
            attempts.append(unlocked.revised(exclude_newer=pinned))  # as of the date
        # last, what npm resolves today: a lockfile or a date names versions the registry
        # may not serve (unpublished, or dated after the day by the registry's own clock)
        attempts.append(unlocked.revised(exclude_newer=None))
    key_source = {"state": state, "attempts": [a.fingerprint_fields() for a in attempts]}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True, default=str).encode()).hexdigest()
    return EnvPlan(repo_name, base_commit, files, attempts, key)


def month_of(moment: datetime) -> datetime:
    """The first day of the month after ``moment``'s (UTC): the commits of one month share
    their dependencies' day, and so one image, and a commit that calls what a dependency
    added earlier that month finds it."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=32)).replace(day=1)


OLDEST_JAVA_LEVEL = 8  # the oldest language level every JDK here compiles (JDK 21 dropped 7)


def java_attempts(config: InstallConfig) -> list[InstallConfig]:
    """The Java attempts: a project whose level is older than ``OLDEST_JAVA_LEVEL`` (Java 5
    and 6 code of the 2000s) is compiled at that level, without the JaCoCo agent of its days
    (an agent older than 0.8.2 crashes the test JVM of JDK 11), one that does not say (its
    parent POM may) as it is and then so; the rest as they are."""
    raised = config.revised(
        environment=[
            *config.environment,
            f"{MAVEN_FLAGS}=-Dmaven.compiler.source={OLDEST_JAVA_LEVEL} "
            f"-Dmaven.compiler.target={OLDEST_JAVA_LEVEL} -Djacoco.skip=true",
        ]
    )
    level = java_level(config.toolchain.requested) if config.toolchain else None
    if level is None:
        return [config, raised]
    return [raised] if level < OLDEST_JAVA_LEVEL else [config]
