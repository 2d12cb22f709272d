"""The plain, typed steps of a backfill; ``pipeline.orchestration.flows`` composes them.

A backfill mines one repository's merged PRs (optionally a list, a date window, a limit),
skips those already written to the output, builds the candidates, and returns them with the
extractor's rejections set. Image building and validation are the stages' own functions.

PRs listed with ``--prs`` that cannot be mined (not merged into the branch, unknown, their
commits missing) do not stop the others: ``select_pulls`` names each with its reason in
``Selection.not_found`` and the run's summary carries them. Only a list of which no PR can be
mined is a ``UserInputError``.

A SOURCE named ``OWNER/NAME`` is mined through GitHub's API (``extractors.github_source``):
without ``--since`` or ``--prs`` it resumes after the repository's cursor
(``pipeline.backfill.cursor``), which ``advance_cursor`` moves once the run's tasks are written.
The request and the summary are in ``pipeline.backfill.request``. PyGithub is imported only
by the steps of a GitHub source, so a local source (and a rerun with nothing new) never pays
for it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime

import git

from extractors.candidates import SizeLimits, build_candidates
from extractors.git_history import MergedPull, find_merged_pulls, target_branch
from pipeline.backfill.cursor import advanced, read_cursor, write_cursor
from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.source import (
    URL,
    open_github_source,
    open_source,
)
from pipeline.core.errors import UserInputError
from pipeline.core.records import SourceKind, Task
from pipeline.dataset.shards import finished_instance_ids


def open_repository(request: BackfillRequest) -> git.Repo:
    """The git repository to mine: the source itself, or a mirror of a URL or GitHub name."""
    if request.from_github:
        access = request.github_access()
        return open_github_source(access, request.repo, request.cache_dir, request.blobless)
    return open_source(request.source, request.cache_dir, request.blobless)


def source_kind(request: BackfillRequest, repo: git.Repo) -> SourceKind:
    """What ``request``'s source is: a GitHub name, a git URL, a bare mirror or a clone."""
    if request.from_github:
        return SourceKind.GITHUB_API
    if URL.match(request.source):
        return SourceKind.GIT_URL
    return SourceKind.BARE_MIRROR if repo.bare else SourceKind.LOCAL_CLONE


@dataclass(frozen=True)
class Selection:
    """The merged PRs a request selects, oldest first, and the listed PRs it cannot mine."""

    pulls: list[MergedPull]
    not_found: dict[int, str] = field(default_factory=dict)  # listed PR -> why not


def select_pulls(repo: git.Repo, request: BackfillRequest, resume: bool = True) -> Selection:
    """The merged PRs the request asks for, oldest first, and why each listed one that is not
    found is not; a list of which none is found is a ``UserInputError``.

    ``resume=False`` ignores a GitHub source's cursor (a preview has no dataset).
    """
    if request.from_github:
        selection = _from_github(repo, request, resume)
    else:
        selection = _from_history(repo, request)
    if request.prs and not selection.pulls:
        raise UserInputError(no_listed_pull(request, selection.not_found))
    pulls = sorted(selection.pulls, key=lambda p: (p.merged_at, p.number), reverse=True)
    if request.limit is not None:
        pulls = pulls[: request.limit]
    return Selection(pulls=pulls[::-1], not_found=selection.not_found)


def no_listed_pull(request: BackfillRequest, not_found: dict[int, str]) -> str:
    """The one line saying that none of the listed PRs can be mined, and why each not."""
    reasons = "; ".join(f"#{n}: {why}" for n, why in sorted(not_found.items()))
    return f"none of the listed PRs can be mined from {request.source}: {reasons}"


def _from_history(repo: git.Repo, request: BackfillRequest) -> Selection:
    branch = target_branch(repo, request.branch)
    try:
        repo.git.rev_parse("--verify", "--quiet", f"{branch}^{{commit}}")
        pulls = find_merged_pulls(repo, branch, request.first_parent)
    except (git.GitCommandError, subprocess.CalledProcessError) as error:
        stderr = error.stderr if isinstance(error.stderr, str) else ""
        detail = stderr.strip()[:160] or "no such branch"
        raise UserInputError(
            f"cannot read branch {branch!r} of {request.source}: {detail}"
        ) from None
    not_found: dict[int, str] = {}
    if request.prs:
        by_number = {p.number: p for p in pulls}
        carried = {d: p for p in pulls for d in p.duplicates}  # backports: one task a change
        missing = sorted(set(request.prs) - set(by_number) - set(carried))
        not_found = missing_reasons(repo, branch, missing)
        for number in sorted(set(request.prs) & set(carried) - set(by_number)):
            kept = carried[number].number
            not_found[number] = f"the same change as #{kept}, which is mined in its place"
        listed = [
            by_number.get(n) or carried[n] for n in request.prs if n in by_number or n in carried
        ]
        pulls = list({p.number: p for p in listed}.values())
    selected = [p for p in pulls if _in_window(p.merged_at, request)]
    if request.prs:
        for pull in pulls:
            if pull not in selected:
                not_found[pull.number] = f"merged {pull.merged_at:%Y-%m-%d}, outside the window"
    return Selection(pulls=selected, not_found=not_found)


def _in_window(merged_at: datetime, request: BackfillRequest) -> bool:
    after_since = request.since is None or merged_at >= request.since
    return after_since and (request.until is None or merged_at <= request.until)


def missing_reasons(repo: git.Repo, branch: str, numbers: list[int]) -> dict[int, str]:
    """Why each PR number is not among the history's merged PRs: a PR ref (GitHub's
    ``refs/pull/N/head``) says the PR exists but did not reach ``branch``."""
    if not numbers:
        return {}
    patterns = [f"refs/pull/{n}/head" for n in numbers]
    refs = set(repo.git.for_each_ref("--format=%(refname)", *patterns).split())
    return {
        n: f"not merged into {branch}"
        if f"refs/pull/{n}/head" in refs
        else f"no merge of #{n} in the history of {branch}"
        for n in numbers
    }


def _from_github(repo: git.Repo, request: BackfillRequest, resume: bool) -> Selection:
    """The API's merged PRs: listed ones, a window, or those after the cursor."""
    from extractors.github_api import GithubClient  # PyGithub: only for a GitHub source
    from extractors.github_source import github_pulls

    use_cursor = resume and not request.prs and not request.since
    cursor = read_cursor(request.layout(), request.repo) if use_cursor else None
    since = request.since or (cursor.merged_through if cursor else None)
    with GithubClient(request.github_access(), request.repo) as client:
        branch = target_branch(repo, request.branch)
        found = github_pulls(
            repo, client, branch, request.prs, since, request.until, request.first_parent
        )
    pulls = [p for p in found.pulls if cursor is None or not cursor.covers(p.number, p.merged_at)]
    return Selection(list(pulls), found.not_found)


def mine_candidates(
    repo: git.Repo, request: BackfillRequest, pulls: list[MergedPull]
) -> list[Task]:
    """The candidates of ``pulls``, from the history or from GitHub's API as the source says."""
    limits = SizeLimits(request.max_files, request.max_changed_lines)
    if not request.from_github:
        return build_candidates(repo, request.repo, pulls, limits)
    from extractors.github_api import GithubClient  # PyGithub: only for a GitHub source
    from extractors.github_source import GithubPull, github_candidates

    from_api = [p for p in pulls if isinstance(p, GithubPull)]
    assert len(from_api) == len(pulls), "GitHub candidates come from select_pulls"
    with GithubClient(request.github_access(), request.repo) as client:
        mined = github_candidates(repo, client, from_api, limits, request.allow_no_issue)
    return mined


def check_github_source(request: BackfillRequest) -> None:
    """Before a run: the credentials work and see the repository, and at least one listed
    PR is merged into the branch (the others are named in the run's summary)."""
    from extractors.github_api import GithubClient  # PyGithub: only for a GitHub source
    from extractors.github_source import listed_pulls

    with GithubClient(request.github_access(), request.repo) as client:
        found = client.repository()
        if request.prs:
            branch = request.branch or found.default_branch
            any_base = not request.first_parent  # whether it reached the branch is told later
            merged, not_found = listed_pulls(client, request.prs, branch, any_base=any_base)
            if not merged:
                raise UserInputError(no_listed_pull(request, not_found))


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
    layout = request.layout()
    previous = read_cursor(layout, request.repo)
    if request.since and previous is not None and request.since > previous.merged_through:
        return  # a window that leaves a gap after the cursor
    written = finished_instance_ids(layout)
    pending = {c.pull_number for c in candidates if c.instance_id not in written}
    cursor = advanced(previous, request.repo, merged_at, pending)
    if cursor is not None and cursor != previous:
        write_cursor(layout, cursor)
