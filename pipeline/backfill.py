"""The plain, typed steps of a backfill; ``pipeline.flows`` composes them under Prefect.

A backfill mines one repository's merged PRs (optionally a list, a date window, a limit),
skips those already written to the output, builds the candidates, and returns them with the
extractor's rejections set. Image building and validation are the stages' own functions.

A SOURCE named ``OWNER/NAME`` is mined through GitHub's API (``extractors.github_source``):
without ``--since`` or ``--prs`` it resumes after the repository's cursor
(``pipeline.cursor``), which ``advance_cursor`` moves once the run's tasks are written. The
request names where the credentials are, never the credentials: Prefect records it.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from pathlib import Path

import git
from pydantic import BaseModel, ConfigDict, Field

from extractors.candidates import SizeLimits, build_candidates
from extractors.git_history import MergedPull, find_merged_pulls, target_branch
from extractors.github_api import DEFAULT_API_URL, GithubAccess, GithubClient
from extractors.github_source import GithubPull, check_listed, github_candidates, github_pulls
from pipeline.cursor import advanced, read_cursor, write_cursor
from pipeline.dataset import DatasetLayout, finished_instance_ids
from pipeline.errors import UserInputError
from pipeline.records import Outcome, SourceKind, Task
from pipeline.source import URL, is_github_name, open_github_source, open_source


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
    # GitHub sources (SOURCE = OWNER/NAME); the token is read from $GITHUB_TOKEN or token_file
    api_url: str = Field(default_factory=lambda: os.environ.get("GITHUB_API_URL", DEFAULT_API_URL))
    token_file: Path | None = None
    app_id: str | None = None
    app_key_file: Path | None = None
    installation_id: int | None = None
    allow_no_issue: bool = False  # keep PRs without a linked issue (description as problem)
    max_rate_wait_s: int = 900  # a longer wait for a rate limit to reset stops the run

    @property
    def from_github(self) -> bool:
        return is_github_name(self.source)

    def github_access(self) -> GithubAccess:
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


def open_repository(request: BackfillRequest) -> git.Repo:
    """The git repository to mine: the source itself, or a mirror of a URL or GitHub name."""
    if request.from_github:
        return open_github_source(request.github_access(), request.repo, request.cache_dir)
    return open_source(request.source, request.cache_dir)


def source_kind(request: BackfillRequest, repo: git.Repo) -> SourceKind:
    if request.from_github:
        return SourceKind.GITHUB_API
    if URL.match(request.source):
        return SourceKind.GIT_URL
    return SourceKind.BARE_MIRROR if repo.bare else SourceKind.LOCAL_CLONE


def select_pulls(repo: git.Repo, request: BackfillRequest) -> list[MergedPull]:
    """The merged PRs the request asks for, oldest first; unknown PR numbers are an error."""
    pulls = _from_github(repo, request) if request.from_github else _from_history(repo, request)
    pulls.sort(key=lambda p: (p.merged_at, p.number), reverse=True)
    if request.limit is not None:
        pulls = pulls[: request.limit]
    return pulls[::-1]


def _from_history(repo: git.Repo, request: BackfillRequest) -> list[MergedPull]:
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
    return pulls


def _from_github(repo: git.Repo, request: BackfillRequest) -> list[MergedPull]:
    """The API's merged PRs: listed ones, a window, or those after the cursor."""
    cursor = None if request.prs or request.since else read_cursor(request.out, request.repo)
    since = request.since or (cursor.merged_through if cursor else None)
    with GithubClient(request.github_access(), request.repo) as client:
        branch = target_branch(repo, request.branch)
        pulls = github_pulls(repo, client, branch, request.prs, since, request.until)
    return [p for p in pulls if cursor is None or not cursor.covers(p.number, p.merged_at)]


def mine_candidates(
    repo: git.Repo, request: BackfillRequest, pulls: list[MergedPull]
) -> list[Task]:
    limits = SizeLimits(request.max_files, request.max_changed_lines)
    if not request.from_github:
        return build_candidates(repo, request.repo, pulls, limits)
    from_api = [p for p in pulls if isinstance(p, GithubPull)]
    assert len(from_api) == len(pulls), "GitHub candidates come from select_pulls"
    with GithubClient(request.github_access(), request.repo) as client:
        return github_candidates(repo, client, from_api, limits, request.allow_no_issue)


def check_github_source(request: BackfillRequest) -> None:
    """Before a run: the credentials work and see the repository (and the listed PRs)."""
    with GithubClient(request.github_access(), request.repo) as client:
        found = client.repository()
        if request.prs:
            branch = request.branch or found.default_branch
            check_listed([client.pull(n) for n in request.prs], request.repo, branch)


def advance_cursor(
    request: BackfillRequest, merged_at: dict[int, datetime], candidates: list[Task]
) -> None:
    """Move a GitHub repository's cursor past the selected PRs whose tasks are written.

    Call it after the run's writes. Only a run that mined everything after the cursor (no
    ``--prs``, no ``--limit``, no ``--since`` beyond the cursor) moves it; a PR whose task is
    not written (an infrastructure failure) holds it back.
    """
    if not request.from_github or request.prs or request.limit is not None:
        return
    previous = read_cursor(request.out, request.repo)
    if request.since and previous is not None and request.since > previous.merged_through:
        return  # a window that leaves a gap after the cursor
    written = finished_instance_ids(DatasetLayout(request.out))
    pending = {c.pull_number for c in candidates if c.instance_id not in written}
    cursor = advanced(previous, request.repo, merged_at, pending)
    if cursor is not None and cursor != previous:
        write_cursor(request.out, cursor)
