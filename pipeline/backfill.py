"""The plain, typed steps of a backfill; ``pipeline.flows`` composes them under Prefect.

A backfill mines one repository's merged PRs (optionally a list, a date window, a limit),
skips those already written to the output, builds the candidates, and returns them with the
extractor's rejections set. Image building and validation are the stages' own functions.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from pathlib import Path

import git
from pydantic import BaseModel, ConfigDict, Field

from extractors.candidates import SizeLimits, build_candidate
from extractors.git_history import MergedPull, find_merged_pulls, target_branch
from pipeline.errors import UserInputError
from pipeline.records import Outcome, Task


class BackfillRequest(BaseModel):
    """What one ``taskforge backfill`` run is asked to do."""

    model_config = ConfigDict(frozen=True)

    source: str
    repo: str
    out: Path
    prs: list[int] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    branch: str | None = None
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    task_runner: str = "threads"  # or "dask" (a local cluster) or "dask://HOST:PORT"
    python: str = "3.11"
    memory: str = "2g"
    cpus: float = 1.0
    timeout_s: int = 900
    before_repeats: int = 2  # runs of base + test patch, to expose flaky tests
    after_repeats: int = 3  # runs of base + test patch + fix
    max_files: int = 50
    max_changed_lines: int = 3000
    cache_dir: Path = Path("data/cache")


class BackfillSummary(BaseModel):
    """The yield funnel of one run."""

    repo: str
    out: Path
    mined: int = 0  # merged PRs selected in this run
    skipped: int = 0  # already in the output from an earlier run
    verified: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)  # outcome -> count
    infrastructure: int = 0  # not written; a rerun retries them
    infrastructure_retries: int = 0  # engine failures retried (and then passed or counted above)
    environments: int = 0  # dependency states with a working environment
    environments_failed: int = 0  # dependency states no attempt could build
    images_built: int = 0
    wall_time_s: float = 0.0

    def count(self, tasks: list[Task]) -> None:
        reasons = Counter(self.rejected)
        for task in tasks:
            if task.outcome is Outcome.VERIFIED:
                self.verified += 1
            elif task.outcome is not None:
                reasons[task.outcome.value] += 1
        self.rejected = dict(reasons)


def select_pulls(repo: git.Repo, request: BackfillRequest) -> list[MergedPull]:
    """The merged PRs the request asks for, oldest first; unknown PR numbers are an error."""
    branch = target_branch(repo, request.branch)
    try:
        pulls = find_merged_pulls(repo, branch)
    except git.GitCommandError as error:
        raise UserInputError(
            f"cannot read branch {branch!r} of {request.source}: "
            f"{(error.stderr or '').strip()[:160]}"
        ) from None
    if request.prs:
        by_number = {p.number: p for p in pulls}
        missing = sorted(set(request.prs) - set(by_number))
        if missing:
            raise UserInputError(
                f"PR {', '.join(f'#{n}' for n in missing)} not found as merged into {branch} "
                f"of {request.source}"
            )
        pulls = [by_number[n] for n in request.prs]
    if request.since:
        pulls = [p for p in pulls if p.merged_at >= request.since]
    if request.until:
        pulls = [p for p in pulls if p.merged_at <= request.until]
    pulls.sort(key=lambda p: (p.merged_at, p.number), reverse=True)
    if request.limit is not None:
        pulls = pulls[: request.limit]
    return pulls[::-1]


def mine_candidates(
    repo: git.Repo, request: BackfillRequest, pulls: list[MergedPull]
) -> list[Task]:
    limits = SizeLimits(request.max_files, request.max_changed_lines)
    return [build_candidate(repo, request.repo, pull, limits) for pull in pulls]
