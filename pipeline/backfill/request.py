"""What a backfill is asked to do (``BackfillRequest``) and what it did (``BackfillSummary``).

The request is parsed once, at the edge (the CLI, a schedules file), into typed values: the task
runner is a ``TaskRunnerSpec``, not a string parsed again where the flow starts. It names where
the credentials are, never the credentials: Prefect records it as the flow run's parameter.
Every path of its dataset comes from ``BackfillRequest.layout`` (the output: a folder or a URL,
``out``; and the work folder, always local: ``work_dir``, else the default under the request's
cache folder). A URL ``out`` holds no credentials (``pipeline.dataset.location``), so the request
stays safe to record; it is a string, so the request pickles to Dask workers as before.
"""

from __future__ import annotations

import enum
import os
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from extractors.github_access import DEFAULT_API_URL, GithubAccess
from pipeline.backfill.benchmark import BenchmarkAction
from pipeline.backfill.source import is_github_name
from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import UserInputError
from pipeline.core.records import Outcome, Task
from pipeline.dataset.location import DatasetOut
from pipeline.dataset.storage import DatasetLayout

DASK_ADDRESS = re.compile(r"^dask://([\w.-]+:\d+)$")
MEMORY_LIMIT = re.compile(r"^[1-9]\d*[bkmg]?$", re.IGNORECASE)  # Docker's: 512m, 2g, 1073741824


class RunnerKind(enum.StrEnum):
    """Where validations run."""

    THREADS = "threads"  # a thread pool in this process
    DASK = "dask"  # a local Dask cluster, one single-threaded worker process per worker
    DASK_ADDRESS = "dask_address"  # an existing Dask scheduler


class TaskRunnerSpec(BaseModel):
    """A parsed ``--task-runner``: ``threads``, ``dask`` or ``dask://HOST:PORT``."""

    model_config = ConfigDict(frozen=True)

    kind: RunnerKind = RunnerKind.THREADS
    address: str = ""  # HOST:PORT of the Dask scheduler (``DASK_ADDRESS`` only)

    @classmethod
    def parse(cls, text: str) -> TaskRunnerSpec:
        """The spec ``text`` names, or a ``UserInputError`` naming the option."""
        if text in (RunnerKind.THREADS, RunnerKind.DASK):
            return cls(kind=RunnerKind(text))
        address = DASK_ADDRESS.match(text)
        if address:
            return cls(kind=RunnerKind.DASK_ADDRESS, address=address.group(1))
        raise UserInputError(f"--task-runner takes threads, dask or dask://HOST:PORT, not {text!r}")

    def __str__(self) -> str:
        """The spec as the command line writes it."""
        if self.kind is RunnerKind.DASK_ADDRESS:
            return f"dask://{self.address}"
        return self.kind.value


def strength_setting(strength: bool, min_strength: float | None) -> float | None:
    """``--min-strength``, checked against ``--strength``: a threshold needs the check."""
    if min_strength is not None and not strength:
        raise UserInputError("--min-strength needs the strength check; drop --no-strength")
    if min_strength is not None and not 0.0 <= min_strength <= 1.0:
        raise UserInputError(f"--min-strength takes a number from 0 to 1, not {min_strength:g}")
    return min_strength


def retry_outcomes(text: str | None) -> frozenset[Outcome]:
    """``--retry``: outcomes by name, comma-separated (``environment_failed,flaky``)."""
    if not text:
        return frozenset()
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = [o.value for o in Outcome]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        bad = ", ".join(unknown) or repr(text)
        raise UserInputError(f"--retry takes outcomes ({', '.join(known)}), not {bad}")
    return frozenset(Outcome(n) for n in names)


def memory_limit(text: str) -> str:
    """``text`` if Docker takes it as a memory limit (``2g``, ``512m``); else bad input."""
    if not MEMORY_LIMIT.match(text):
        raise UserInputError(f"--memory takes a size such as 2g or 512m, not {text!r}")
    return text


class BackfillRequest(BaseModel):
    """What one ``taskforge backfill`` run is asked to do."""

    model_config = ConfigDict(frozen=True)

    source: str
    repo: str
    out: DatasetOut  # a local folder (Path) or a URL (DatasetUrl: s3://bucket/prefix...)
    prs: list[int] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    branch: str | None = None
    first_parent: bool = False  # mine only the target's first-parent line
    blobless: bool = False  # mirror URL and GitHub sources with --filter=blob:none
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    task_runner: TaskRunnerSpec = Field(default_factory=TaskRunnerSpec)
    memory: str = "2g"
    cpus: float = 1.0
    timeout_s: int = 900
    before_repeats: int = 2  # runs of base + test patch, to expose flaky tests
    after_repeats: int = 3  # runs of base + test patch + fix
    max_files: int = 50
    max_changed_lines: int = 3000
    cache_dir: Path = Field(default_factory=default_cache_dir)
    work_dir: Path | None = None  # the dataset's work folder; None: CACHE/work/<name>-<hash>
    # GitHub sources (SOURCE = OWNER/NAME); the token is read from $GITHUB_TOKEN or token_file
    api_url: str = Field(default_factory=lambda: os.environ.get("GITHUB_API_URL", DEFAULT_API_URL))
    token_file: Path | None = None
    app_id: str | None = None
    app_key_file: Path | None = None
    installation_id: int | None = None
    allow_no_issue: bool = False  # keep PRs without a linked issue (description as problem)
    max_rate_wait_s: int = 900  # a longer wait for a rate limit to reset stops the run
    # HOST[:PORT]/NAMESPACE: every environment (and instance) image is pushed there and
    # recorded by digest, so other machines pull exactly what was validated
    registry: str | None = None
    instance_images: bool = False  # per verified task, an image with /testbed (SWE-bench's)
    # What validations on the workers of a Dask scheduler elsewhere open instead of the flow's
    # local repository: a git URL, or a path every worker mounts; None: the source itself
    worker_source: str | None = None
    build_on_workers: bool = False  # environments built (and pushed) on the workers too
    # an evaluation set to keep out (pipeline.backfill.benchmark): a file or folder of
    # SWE-bench rows; the tasks that are one of its instances are flagged, or dropped
    benchmark: Path | None = None
    benchmark_action: BenchmarkAction = BenchmarkAction.FLAG
    # test strength (validators.strength): wrong patches run against each verified task's
    # FAIL_TO_PASS; a task below min_strength is rejected as weak_tests (None: kept, flagged)
    strength: bool = True
    min_strength: float | None = Field(default=None, ge=0.0, le=1.0)
    # outcomes whose written tasks are run again (their new rows replace them): after an
    # upgrade, environment_failed or tests_not_collected may now verify
    retry: frozenset[Outcome] = frozenset()

    @property
    def remote_workers(self) -> bool:
        """Whether validations run on workers that may be other machines (``dask://``)."""
        return self.task_runner.kind is RunnerKind.DASK_ADDRESS

    def layout(self) -> DatasetLayout:
        """Every path of the output dataset, its work folder included."""
        return DatasetLayout.of(self.out, self.work_dir, cache_dir=self.cache_dir)

    @property
    def from_github(self) -> bool:
        """Whether the source is a GitHub repository named ``OWNER/NAME``."""
        return is_github_name(self.source)

    def github_access(self) -> GithubAccess:
        """Where the GitHub API is and where its credentials are."""
        return GithubAccess(
            api_url=self.api_url,
            token_file=self.token_file,
            app_id=self.app_id,
            app_key_file=self.app_key_file,
            installation_id=self.installation_id,
            max_rate_wait_s=self.max_rate_wait_s,
        )


class BackfillSummary(BaseModel):
    """The yield funnel of one run."""

    repo: str
    out: DatasetOut
    logs_dir: Path | None = None  # the build logs and the Prefect server's log
    mined: int = 0  # merged PRs selected in this run
    skipped: int = 0  # already in the output from an earlier run
    verified: int = 0
    rejected: dict[Outcome, int] = Field(default_factory=dict)
    infrastructure: int = 0  # not written; a rerun retries them
    infrastructure_retries: int = 0  # engine failures retried (and then passed or counted above)
    environments: int = 0  # dependency states with a working environment
    environments_failed: int = 0  # dependency states no attempt could build
    images_built: int = 0
    wall_time_s: float = 0.0
    not_found: dict[int, str] = Field(default_factory=dict)  # listed PR -> why it is not mined

    def count(self, tasks: list[Task]) -> None:
        """Add written tasks to the funnel."""
        reasons = Counter(self.rejected)
        for task in tasks:
            if task.outcome is Outcome.VERIFIED:
                self.verified += 1
            elif task.outcome is not None:
                reasons[task.outcome] += 1
        self.rejected = dict(reasons)
