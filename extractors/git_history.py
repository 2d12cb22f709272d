"""Find the merged pull requests in a git repository's history.

The whole ancestry of the target branch is mined: a PR merged into a maintenance or release
branch (``2.0.x``, ``proposed/2.8.0``) that reached the target later is a PR like any other,
its fix commit the merge (or squash) commit wherever it lies and its base the merge-base with
the branch it was merged into. ``first_parent=True`` keeps to the target's first-parent line.
Three signatures:

- merge commits whose subject is GitHub's ``Merge pull request #N from owner/branch``: the PR
  head is the second parent;
- squash merges whose subject ends in ``(#N)`` and that have one parent (with two parents,
  a merge commit titled with the PR's title);
- where the repository has ``refs/pull/N/head`` (GitHub's read-only PR refs, fetched with
  ``+refs/pull/*/head:refs/pull/*/head``), PRs that reached the branch some other way: a
  local merge (the head is reachable from the branch) or a rebase merge (every PR commit has
  a patch-equivalent commit on the branch, as ``git cherry`` reports).

The base commit is where the PR branched from: the merge-base of the PR head and the branch
it was merged into as it was just before the merge, not blindly the first parent. Merge-bases
and the PR's opening date come from ``extractors.commit_graph`` (one ``git log`` for the whole
branch); ``git merge-base`` is asked only where the graph leaves a choice.

One change is one task: a PR number met on several lines (a squash commit cherry-picked onto a
release branch, same ``(#N)``) is kept where it landed first, the first-parent line winning, and
PRs whose changes have the same patch id (a backport PR with its own number) are kept once, the
others listed in ``duplicates`` (``extractors.replayed_changes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import git

from extractors.commit_graph import CommitGraph, HistoryCommit, authored_datetime
from extractors.rebase_merges import PatchMatcher
from extractors.replayed_changes import drop_replayed
from pipeline.core.records import MergeKind, ProblemSource

MERGE_SUBJECT = re.compile(r"^Merge pull request #(\d+) from \S+")
SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*$")
PULL_REF = re.compile(r"^refs/pull/(\d+)/head$")


@dataclass(frozen=True)
class MergedPull:
    """One merged pull request as the history shows it."""

    number: int
    kind: MergeKind
    base_commit: str  # where the PR branched from
    head_commit: str  # the PR's last commit; the change is base..head
    fix_commit: str  # the commit on the target branch that carries the change
    merged_at: datetime
    # author date of the PR's oldest commit; None until asked for (``opened_at``): read only
    # for the PRs a backfill selects, not for every PR of the history
    created_at: datetime | None
    message: str  # PR title and description as the history carries them
    problem_source: ProblemSource
    # other PRs carrying the same change (a backport, a cherry-pick): one task for all of them
    duplicates: tuple[int, ...] = ()


def target_branch(repo: git.Repo, branch: str | None) -> str:
    """The branch to mine: the one named, else what HEAD points at (bare mirrors too)."""
    if branch:
        return branch
    try:
        return repo.git.symbolic_ref("--short", "HEAD")  # type: ignore[no-any-return]
    except git.GitCommandError:
        return "HEAD"  # detached work tree: mine what is checked out


def find_merged_pulls(repo: git.Repo, branch: str, first_parent: bool = False) -> list[MergedPull]:
    """Every merged PR reachable from ``branch``, newest first, one entry per change.

    The first-parent line is read first (newest first, as before), then every other commit
    the branch reaches, oldest first, so that a number met twice keeps the first-parent
    commit, else the commit where it landed first.
    """
    found: dict[int, MergedPull] = {}
    pull_refs = _pull_refs(repo)  # one for-each-ref for all PRs, not a rev-parse per squash
    graph = CommitGraph(repo.git_dir, branch, sorted(set(pull_refs.values())), first_parent)
    on_line = {c.sha for c in graph.mainline}
    side = [c for c in reversed(graph.commits.values()) if c.sha not in on_line]
    unattributed_merges: dict[str, HistoryCommit] = {}  # second parent -> merge commit
    for commit in [*graph.mainline, *side]:
        pull = _from_commit(repo, graph, commit, pull_refs)
        if pull is not None and pull.number not in found:
            found[pull.number] = pull
        elif pull is None and len(commit.parents) == 2:
            unattributed_merges.setdefault(commit.parents[1], commit)
    refs = {n: sha for n, sha in pull_refs.items() if n not in found}
    if refs:
        found.update(_from_pull_refs(repo, graph, branch, refs, unattributed_merges))
    pulls = drop_replayed(repo.git_dir, list(found.values()), on_line)
    return sorted(pulls, key=lambda p: (p.merged_at, p.number), reverse=True)


def _from_commit(
    repo: git.Repo, graph: CommitGraph, commit: HistoryCommit, pull_refs: dict[int, str]
) -> MergedPull | None:
    subject = commit.subject
    merge = MERGE_SUBJECT.match(subject)
    if merge and len(commit.parents) == 2:
        number = int(merge.group(1))
        head = commit.parents[1]
        base, opened = _merge_base(repo, graph, commit.parents[0], head)
        return _pull(number, MergeKind.MERGE_COMMIT, base, head, commit, commit.body, opened)
    squash = SQUASH_SUBJECT.search(subject)
    if squash and len(commit.parents) == 2:  # a merge commit titled with the PR's title
        number = int(squash.group(1))
        head = commit.parents[1]
        base, opened = _merge_base(repo, graph, commit.parents[0], head)
        message = SQUASH_SUBJECT.sub("", subject).rstrip() + _tail(commit.body)
        return _pull(number, MergeKind.MERGE_COMMIT, base, head, commit, message, opened)
    if squash and len(commit.parents) == 1:
        number = int(squash.group(1))
        parent = commit.parents[0]
        head, base = commit.sha, parent
        opened = _authored(graph, commit.sha)
        pr_head = pull_refs.get(number)
        if pr_head is not None:
            head = pr_head
            base, opened = _merge_base(repo, graph, parent, pr_head)
        message = SQUASH_SUBJECT.sub("", subject).rstrip() + _tail(commit.body)
        return _pull(number, MergeKind.SQUASH, base, head, commit, message, opened)
    return None


def _from_pull_refs(
    repo: git.Repo,
    graph: CommitGraph,
    branch: str,
    refs: dict[int, str],
    merges: dict[str, HistoryCommit],
) -> dict[int, MergedPull]:
    """PRs known only by their refs: merged locally, or rebased onto the branch.

    A local merge is a mainline merge commit (with no PR subject) whose second parent is the
    PR head. A rebase merge is a PR whose head commit has a patch-equivalent commit on the
    branch and all of whose commits do (``extractors.rebase_merges``, as ``git cherry``).
    """
    found: dict[int, MergedPull] = {}
    unmerged: dict[int, str] = {}
    for number, head in refs.items():
        if head in merges:
            entry = merges[head]
            base, opened = _merge_base(repo, graph, entry.parents[0], head)
            message = _pr_messages(repo, base, head)
            found[number] = _pull(number, MergeKind.LOCAL_MERGE, base, head, entry, message, opened)
        elif not graph.on_branch(head):
            unmerged[number] = head
    if not unmerged:
        return found
    matcher = PatchMatcher(repo, branch)
    fixes = matcher.equivalents(sorted(set(unmerged.values())))
    tip = graph.mainline[0].sha
    walks = {head: graph.walk(tip, head) for head in unmerged.values() if head in fixes}
    walked = sorted({c for walk in walks.values() if walk is not None for c in walk.commits})
    replayed = matcher.equivalents(walked)
    for number, head in unmerged.items():
        if head not in fixes:
            continue
        walk = walks[head]
        if walk is None:
            try:
                base, opened = repo.git.merge_base(branch, head).strip(), None
            except git.GitCommandError:
                continue  # a head of another history (no common commit): not this branch's
            cherry = repo.git.cherry(branch, head, base).splitlines()
            all_replayed = bool(cherry) and all(line.startswith("-") for line in cherry)
        else:
            base, opened = walk.base, _when(walk.oldest_authored)
            all_replayed = bool(walk.commits) and all(c in replayed for c in walk.commits)
        if all_replayed:
            message = _pr_messages(repo, base, head)
            fix = (fixes[head], repo.commit(fixes[head]).committed_datetime.astimezone(UTC))
            found[number] = _pull(number, MergeKind.REBASE, base, head, fix, message, opened)
    return found


def _pull(
    number: int,
    kind: MergeKind,
    base: str,
    head: str,
    fix: HistoryCommit | tuple[str, datetime],
    message: str,
    opened: datetime | None,
) -> MergedPull:
    source = (
        ProblemSource.PR_COMMITS
        if kind in {MergeKind.REBASE, MergeKind.LOCAL_MERGE}
        else ProblemSource.COMMIT_MESSAGE
    )
    fix_sha, merged_at = (fix.sha, fix.committed_at) if isinstance(fix, HistoryCommit) else fix
    return MergedPull(
        number=number,
        kind=kind,
        base_commit=base,
        head_commit=head,
        fix_commit=fix_sha,
        merged_at=merged_at,
        created_at=opened,
        message=message.strip(),
        problem_source=source,
    )


def opened_at(repo: git.Repo, pull: MergedPull) -> datetime:
    """When the PR was opened, as near as history tells: its oldest commit's author date."""
    if pull.created_at is not None:
        return pull.created_at
    dates = repo.git.log("--format=%aI", f"{pull.base_commit}..{pull.head_commit}").splitlines()
    opened = (
        datetime.fromisoformat(dates[-1])
        if dates
        else repo.commit(pull.fix_commit).authored_datetime
    )
    return opened.astimezone(UTC)


def _pull_refs(repo: git.Repo) -> dict[int, str]:
    refs: dict[int, str] = {}
    output = repo.git.for_each_ref("--format=%(refname) %(objectname)", "refs/pull/")
    for line in output.splitlines():
        name, sha = line.split(" ", 1)
        match = PULL_REF.match(name)
        if match:
            refs[int(match.group(1))] = sha
    return refs


def _pr_messages(repo: git.Repo, base: str, head: str) -> str:
    return repo.git.log("--reverse", "--format=%B", f"{base}..{head}")  # type: ignore[no-any-return]


def _authored(graph: CommitGraph, sha: str) -> datetime | None:
    return _when(graph.authored.get(sha))


def _when(timestamp: int | None) -> datetime | None:
    return authored_datetime(timestamp) if timestamp is not None else None


def _merge_base(
    repo: git.Repo, graph: CommitGraph, merged_into: str, head: str
) -> tuple[str, datetime | None]:
    """The merge-base, and the PR's opening date when the graph walk saw its commits.

    ``merged_into`` is the branch the PR was merged into, just before the merge: a commit of
    the target's first-parent line or of another line; ``git merge-base`` where the graph
    leaves a choice.
    """
    walk = graph.walk(merged_into, head)
    if walk is None:
        return repo.git.merge_base(merged_into, head).strip(), None
    return walk.base, _when(walk.oldest_authored)


def _tail(body: str) -> str:
    return "\n\n" + body.strip() if body.strip() else ""
