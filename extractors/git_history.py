"""Find the merged pull requests in a git repository's history.

Three signatures, all on the first-parent line of the target branch:

- merge commits whose subject is GitHub's ``Merge pull request #N from owner/branch``: the PR
  head is the second parent;
- squash merges whose subject ends in ``(#N)`` and that have one parent (with two parents,
  a merge commit titled with the PR's title);
- where the repository has ``refs/pull/N/head`` (GitHub's read-only PR refs, fetched with
  ``+refs/pull/*/head:refs/pull/*/head``), PRs that reached the branch some other way: a
  local merge (the head is reachable from the branch) or a rebase merge (every PR commit has
  a patch-equivalent commit on the branch, as ``git cherry`` reports).

The base commit is where the PR branched from: the merge-base of the PR head and the target
branch as it was just before the merge, not blindly the first parent.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

import git

from pipeline.records import MergeKind, ProblemSource

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


def target_branch(repo: git.Repo, branch: str | None) -> str:
    """The branch to mine: the one named, else what HEAD points at (bare mirrors too)."""
    if branch:
        return branch
    try:
        return repo.git.symbolic_ref("--short", "HEAD")  # type: ignore[no-any-return]
    except git.GitCommandError:
        return "HEAD"  # detached work tree: mine what is checked out


def find_merged_pulls(repo: git.Repo, branch: str) -> list[MergedPull]:
    """Every merged PR reachable from ``branch``, newest first, one entry per PR number."""
    found: dict[int, MergedPull] = {}
    mainline = list(repo.iter_commits(branch, first_parent=True))
    unattributed_merges: dict[str, git.Commit] = {}  # second parent -> merge commit
    pull_refs = _pull_refs(repo)  # one for-each-ref for all PRs, not a rev-parse per squash
    for commit in mainline:
        pull = _from_mainline_commit(repo, commit, pull_refs)
        if pull is not None and pull.number not in found:
            found[pull.number] = pull
        elif pull is None and len(commit.parents) == 2:
            unattributed_merges[commit.parents[1].hexsha] = commit
    refs = {n: sha for n, sha in pull_refs.items() if n not in found}
    if refs:
        found.update(_from_pull_refs(repo, branch, refs, unattributed_merges))
    return sorted(found.values(), key=lambda p: (p.merged_at, p.number), reverse=True)


def _from_mainline_commit(
    repo: git.Repo, commit: git.Commit, pull_refs: dict[int, str]
) -> MergedPull | None:
    subject = commit.summary if isinstance(commit.summary, str) else commit.summary.decode()
    merge = MERGE_SUBJECT.match(subject)
    if merge and len(commit.parents) == 2:
        number = int(merge.group(1))
        head = commit.parents[1].hexsha
        base = _merge_base(repo, commit.parents[0].hexsha, head)
        return _pull(repo, number, MergeKind.MERGE_COMMIT, base, head, commit, _body(commit))
    squash = SQUASH_SUBJECT.search(subject)
    if squash and len(commit.parents) == 2:  # a merge commit titled with the PR's title
        number = int(squash.group(1))
        head = commit.parents[1].hexsha
        base = _merge_base(repo, commit.parents[0].hexsha, head)
        message = SQUASH_SUBJECT.sub("", subject).rstrip() + _tail(_body(commit))
        return _pull(repo, number, MergeKind.MERGE_COMMIT, base, head, commit, message)
    if squash and len(commit.parents) == 1:
        number = int(squash.group(1))
        parent = commit.parents[0].hexsha
        head, base = commit.hexsha, parent
        pr_head = pull_refs.get(number)
        if pr_head is not None:
            head, base = pr_head, _merge_base(repo, parent, pr_head)
        message = SQUASH_SUBJECT.sub("", subject).rstrip() + _tail(_body(commit))
        return _pull(repo, number, MergeKind.SQUASH, base, head, commit, message)
    return None


def _from_pull_refs(
    repo: git.Repo, branch: str, refs: dict[int, str], merges: dict[str, git.Commit]
) -> dict[int, MergedPull]:
    """PRs known only by their refs: merged locally, or rebased onto the branch.

    A local merge is a mainline merge commit (with no PR subject) whose second parent is the
    PR head. A rebase merge is a PR whose head commit has a patch-equivalent commit on the
    branch and all of whose commits do (``git cherry``). Patch ids are computed once for the
    whole branch, so thousands of refs cost two ``git log | git patch-id`` passes.
    """
    found: dict[int, MergedPull] = {}
    merged = set(
        repo.git.for_each_ref("--format=%(objectname)", f"--merged={branch}", "refs/pull/").split()
    )
    unmerged: dict[int, str] = {}
    for number, head in refs.items():
        if head in merges:
            entry = merges[head]
            base = _merge_base(repo, entry.parents[0].hexsha, head)
            message = _pr_messages(repo, base, head)
            found[number] = _pull(repo, number, MergeKind.LOCAL_MERGE, base, head, entry, message)
        elif head not in merged:
            unmerged[number] = head
    if not unmerged:
        return found
    on_branch = {pid: sha for sha, pid in _patch_ids(repo, ["--no-merges", branch]).items()}
    heads = _head_patch_ids(repo, sorted(set(unmerged.values())))
    for number, head in unmerged.items():
        fix_sha = on_branch.get(heads.get(head, ""))
        if fix_sha is None:
            continue
        base = _merge_base(repo, branch, head)
        cherry = repo.git.cherry(branch, head, base).splitlines()
        if cherry and all(line.startswith("-") for line in cherry):
            message = _pr_messages(repo, base, head)
            fix = repo.commit(fix_sha)
            found[number] = _pull(repo, number, MergeKind.REBASE, base, head, fix, message)
    return found


def _pull(
    repo: git.Repo,
    number: int,
    kind: MergeKind,
    base: str,
    head: str,
    fix: git.Commit,
    message: str,
) -> MergedPull:
    source = (
        ProblemSource.PR_COMMITS
        if kind in {MergeKind.REBASE, MergeKind.LOCAL_MERGE}
        else ProblemSource.COMMIT_MESSAGE
    )
    return MergedPull(
        number=number,
        kind=kind,
        base_commit=base,
        head_commit=head,
        fix_commit=fix.hexsha,
        merged_at=fix.committed_datetime.astimezone(UTC),
        created_at=None,
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


def _head_patch_ids(repo: git.Repo, heads: list[str], chunk: int = 200) -> dict[str, str]:
    """Patch ids of PR head commits, in chunks; a head whose objects are missing is skipped.

    Mirrors of GitHub can lack objects of closed PRs' refs; one such ref must not stop mining.
    """
    ids: dict[str, str] = {}
    for start in range(0, len(heads), chunk):
        part = heads[start : start + chunk]
        try:
            ids.update(_patch_ids(repo, ["--no-walk", *part]))
        except git.GitCommandError:
            for head in part:
                with contextlib.suppress(git.GitCommandError):
                    ids.update(_patch_ids(repo, ["--no-walk", head]))
    return ids


def _patch_ids(repo: git.Repo, log_args: list[str]) -> dict[str, str]:
    """Commit sha -> stable patch id, for the commits ``git log`` selects."""
    diff = repo.git.log("-p", "--format=commit %H", *log_args)
    if not diff.strip():
        return {}
    output = subprocess.run(
        ["git", "--git-dir", repo.git_dir, "patch-id", "--stable"],
        input=diff + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ids: dict[str, str] = {}
    for line in output.splitlines():
        patch_id, sha = line.split()
        ids[sha] = patch_id
    return ids


def _pr_messages(repo: git.Repo, base: str, head: str) -> str:
    return repo.git.log("--reverse", "--format=%B", f"{base}..{head}")  # type: ignore[no-any-return]


def _merge_base(repo: git.Repo, one: str, other: str) -> str:
    return repo.git.merge_base(one, other).strip()  # type: ignore[no-any-return]


def _body(commit: git.Commit) -> str:
    message = commit.message if isinstance(commit.message, str) else commit.message.decode()
    return message.split("\n", 1)[1] if "\n" in message else ""


def _tail(body: str) -> str:
    return "\n\n" + body.strip() if body.strip() else ""
