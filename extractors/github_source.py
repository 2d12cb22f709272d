"""Merged pull requests from GitHub's API, their patches from git, their problems from issues.

The API says which PRs were merged, when, into which branch, with which head and merge
commit; a mirror of the repository (``pipeline.backfill.source.open_github_source``) holds those
commits. Each PR becomes a ``GithubPull``, a ``MergedPull`` the git-history stage would have
found, so ``build_candidate`` splits it as it does for a local source:

- the fix commit is the PR's merge commit (for a rebase merge, its last replayed commit);
- the base is the merge-base of the PR head and the branch just before that commit;
- the merge kind follows from the commit's shape: a merge whose second parent is the head
  (``merge_commit``, or ``local_merge`` without GitHub's subject), one commit replaying
  several patch-equivalent PR commits (``rebase``), else ``squash``.

The problem statement is the linked issues' titles and bodies and ``hints_text`` their
comments written before the PR's first commit (``extractors.linked_issues``). A PR without a
linked issue is left out unless asked for; its description then serves, flagged
``problem_source = pr_description``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import git

from extractors.candidates import SizeLimits, build_candidates
from extractors.git_history import MERGE_SUBJECT, SQUASH_SUBJECT, MergedPull
from extractors.github_answers import GithubAnswerError
from extractors.github_api import ApiPull, GithubClient, UnknownObject
from extractors.github_limits import announce
from extractors.linked_issues import LinkedIssue, hints_text, linked_issues, problem_statement
from pipeline.core.records import MergeKind, ProblemSource, SourceKind, Task


@dataclass(frozen=True, kw_only=True)  # after MergedPull's fields with defaults
class GithubPull(MergedPull):
    """A merged PR as git shows it, with what the API says about it."""

    api: ApiPull
    first_commit_at: datetime  # author date of the PR's oldest commit
    commit_messages: str


@dataclass(frozen=True)
class GithubSelection:
    """The merged PRs to mine, and each listed PR that cannot be mined with the reason."""

    pulls: list[GithubPull]
    not_found: dict[int, str] = field(default_factory=dict)


def github_pulls(
    repo: git.Repo,
    client: GithubClient,
    branch: str,
    numbers: list[int],
    since: datetime | None,
    until: datetime | None,
    first_parent: bool = False,
) -> GithubSelection:
    """The PRs ``numbers`` that reached ``branch`` (the others in ``not_found``), else those
    merged in the window; PRs whose commits the mirror lacks are left out with a reason (a
    window's with one line).

    A PR merged into another branch (a maintenance or release branch) counts when its merge
    commit is in ``branch``'s history, as for local sources; ``first_parent`` keeps to PRs
    whose base is ``branch`` itself.
    """
    not_found: dict[int, str] = {}
    reached = None if first_parent else _reached_by(repo, branch)
    if numbers:
        listed, not_found = listed_pulls(client, numbers, branch, reached)
    else:
        into = branch if first_parent else None
        listed = list(client.merged_pulls(into, since, until))
        if reached is not None:
            listed = [a for a in listed if a.base_ref == branch or a.merge_commit_sha in reached]
    pulls = []
    for api in listed:
        pull = to_merged_pull(repo, api)
        if pull is not None:
            pulls.append(pull)
        elif numbers:
            not_found[api.number] = f"its commits are not in the clone of {client.repo}"
        else:
            announce(
                f"PR #{api.number}: its commits are not in the clone of {client.repo}; skipped"
            )
    return GithubSelection(pulls, not_found)


def _reached_by(repo: git.Repo, branch: str) -> set[str]:
    """Every commit ``branch`` reaches (one ``git rev-list``)."""
    return set(repo.git.rev_list(branch).split())


def listed_pulls(
    client: GithubClient,
    numbers: list[int],
    branch: str,
    reached: set[str] | None = None,
    any_base: bool = False,
) -> tuple[list[ApiPull], dict[int, str]]:
    """The listed PRs that reached ``branch``, and why each other one did not (one request
    each). ``reached``: the commits of ``branch``, so that a PR merged into another branch
    counts when its merge commit is among them; None: PRs into ``branch`` only, unless
    ``any_base`` (before the history is at hand: a merged PR into any branch may count).

    A PR GitHub does not know, or answers of the wrong shape, costs that PR, not the run.
    """
    found: list[ApiPull] = []
    not_found: dict[int, str] = {}
    for number in numbers:
        try:
            api = client.pull(number)
        except UnknownObject:
            not_found[number] = f"no such PR in {client.repo}"
            continue
        except GithubAnswerError as error:
            not_found[number] = str(error)
            continue
        reason = unmerged_reason(api, branch, reached, any_base)
        if reason is None:
            found.append(api)
        else:
            not_found[number] = reason
    return found, not_found


def unmerged_reason(
    api: ApiPull, branch: str, reached: set[str] | None = None, any_base: bool = False
) -> str | None:
    """Why a listed PR did not reach ``branch``; ``None`` when it did (or may, ``any_base``)."""
    if api.merged_at is None:
        return "closed without being merged" if api.state == "closed" else "not merged (still open)"
    if any_base or api.base_ref == branch:
        return None
    if reached is None:
        return f"merged into {api.base_ref}, not {branch}"
    if api.merge_commit_sha in reached:
        return None
    return f"merged into {api.base_ref}, which has not reached {branch}"


def to_merged_pull(repo: git.Repo, api: ApiPull) -> GithubPull | None:
    """The PR's change as git history holds it; ``None`` when its commits are missing."""
    fix = _commit(repo, api.merge_commit_sha)
    if fix is None or not fix.parents or api.merged_at is None:
        return None
    head = api.head_sha if _commit(repo, api.head_sha) is not None else None
    if head is None and len(fix.parents) == 1:
        head = fix.hexsha  # a squash merge whose PR head is gone: the squash is the change
    if head is None:
        return None
    base: str = repo.git.merge_base(fix.parents[0].hexsha, head).strip()
    if not base or base == head:
        return None  # the head was on the branch before this merge: nothing of its own
    dates = repo.git.log("--reverse", "--format=%aI", f"{base}..{head}").splitlines()
    return GithubPull(
        number=api.number,
        kind=merge_kind(repo, fix, head, base),
        base_commit=base,
        head_commit=head,
        fix_commit=fix.hexsha,
        merged_at=api.merged_at,
        created_at=api.created_at,
        message=pr_description(api),
        problem_source=ProblemSource.PR_DESCRIPTION,
        api=api,
        first_commit_at=datetime.fromisoformat(dates[0]).astimezone(UTC),
        commit_messages=repo.git.log("--reverse", "--format=%B", f"{base}..{head}"),
    )


def merge_kind(repo: git.Repo, fix: git.Commit, head: str, base: str) -> MergeKind:
    """How the PR reached the branch, from the fix commit's parents and subject."""
    if len(fix.parents) >= 2:
        subject = str(fix.summary)
        by_github = MERGE_SUBJECT.match(subject) or SQUASH_SUBJECT.search(subject)
        if fix.parents[1].hexsha == head and by_github:
            return MergeKind.MERGE_COMMIT
        return MergeKind.LOCAL_MERGE
    replayed = repo.git.cherry(fix.hexsha, head, base).splitlines()
    if len(replayed) > 1 and all(line.startswith("-") for line in replayed):
        return MergeKind.REBASE  # every PR commit has a patch-equivalent on the branch
    return MergeKind.SQUASH


def github_candidates(
    repo: git.Repo,
    client: GithubClient,
    pulls: list[GithubPull],
    limits: SizeLimits,
    allow_no_issue: bool,
) -> list[Task]:
    """Candidates with GitHub's problem statements; PRs without an issue only if allowed."""
    texts = {p.number: f"{p.api.title}\n{p.api.body}\n{p.commit_messages}" for p in pulls}
    issues = linked_issues(client.graphql, client.repo, texts) if pulls else {}
    kept = [p for p in pulls if issues.get(p.number) or allow_no_issue]
    if len(kept) < len(pulls):
        announce(
            f"{len(pulls) - len(kept)} merged PRs of {client.repo} link no issue and were left "
            "out (--allow-no-issue keeps them, with their description as problem statement)"
        )
    built = build_candidates(repo, client.repo, list(kept), limits)
    return [
        with_github_fields(task, pull, issues.get(pull.number, []))
        for task, pull in zip(built, kept, strict=True)
    ]


def with_github_fields(task: Task, pull: GithubPull, issues: list[LinkedIssue]) -> Task:
    """``task`` with what GitHub knows: the PR's URL and, when it links issues, their text."""
    update: dict[str, object] = {"source_kind": SourceKind.GITHUB_API, "pr_url": pull.api.html_url}
    if issues:
        same_repo = {i.number for i in issues if i.repo.lower() == task.repo.lower()}
        update |= {
            "problem_statement": problem_statement(issues),
            "hints_text": hints_text(issues, pull.first_commit_at),
            "referenced_issues": sorted(same_repo),
            "problem_source": ProblemSource.LINKED_ISSUES,
        }
    return task.revised(**update)


def pr_description(api: ApiPull) -> str:
    """The PR's title and description as one problem statement."""
    return f"{api.title}\n\n{api.body}".strip()


def _commit(repo: git.Repo, sha: str | None) -> git.Commit | None:
    if not sha:
        return None
    try:
        return repo.commit(repo.git.rev_parse("--verify", "--quiet", f"{sha}^{{commit}}").strip())
    except (git.GitCommandError, ValueError):
        return None
