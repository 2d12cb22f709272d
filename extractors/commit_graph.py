"""A branch's commit graph read with one ``git log``, for merge-bases without a process each.

Mining needs the merge-base of every merged PR (its head against the mainline just before the
merge) and the author date of the PR's oldest commit. Asking ``git merge-base`` and ``git log``
once per PR is two processes per PR; this reads the graph once and answers in-process.

Each commit reachable from the branch is numbered by the first-parent (mainline) commit that
brought it in. A commit is an ancestor of mainline commit *j* exactly when its number is at most
*j*. Walking back from a PR head through commits numbered above *j* (or not on the branch at
all) therefore stops at the common ancestors that are best candidates; when exactly one is met,
it is the merge-base, and the commits walked are ``base..head``. When several are met and all
are first-parent commits (the PR merged the mainline into itself), they are ordered by that
chain and the newest is the merge-base. Anything else is left to ``git merge-base`` (``None``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

FIELD, RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class MainlineCommit:
    """One first-parent commit of the branch, as mining reads it."""

    sha: str
    parents: tuple[str, ...]
    committed_at: datetime
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def body(self) -> str:
        return self.message.split("\n", 1)[1] if "\n" in self.message else ""


@dataclass(frozen=True)
class Walk:
    """What walking back from a head found: the merge-base and the oldest author time."""

    base: str
    commits: frozenset[str]  # base..head
    oldest_authored: int | None  # unix time; None when base..head is empty


class CommitGraph:
    def __init__(
        self, git_dir: str | os.PathLike[str], branch: str, extra_heads: list[str]
    ) -> None:
        self.git_dir = str(git_dir)
        self.mainline = _mainline(self.git_dir, branch)
        self.index = {c.sha: i for i, c in enumerate(self.mainline)}  # newest is 0
        self.parents: dict[str, tuple[str, ...]] = {}
        self.authored: dict[str, int] = {}
        self._read_graph(branch, extra_heads)
        self.brought_in = self._number_by_mainline()

    def _read_graph(self, branch: str, extra_heads: list[str]) -> None:
        """Parents and author times of the branch and of PR heads (skipped if unreadable)."""
        try:
            output = _git(self.git_dir, "log", "--format=%H %at %P", branch, *extra_heads)
        except subprocess.CalledProcessError:
            output = _git(self.git_dir, "log", "--format=%H %at %P", branch)  # a head's objects
        for line in output.splitlines():
            sha, authored, *parents = line.split()
            self.parents[sha] = tuple(parents)
            self.authored[sha] = int(authored)

    def _number_by_mainline(self) -> dict[str, int]:
        """Commit -> position (oldest mainline commit = 0) of the mainline commit bringing it in."""
        numbers: dict[str, int] = {}
        for position, commit in enumerate(reversed(self.mainline)):
            stack = [commit.sha]
            while stack:
                sha = stack.pop()
                if sha in numbers:
                    continue
                numbers[sha] = position
                stack.extend(p for p in self.parents.get(sha, ()) if p not in numbers)
        return numbers

    def on_branch(self, sha: str) -> bool:
        """Whether the branch reaches ``sha`` (as ``git for-each-ref --merged`` tells)."""
        return sha in self.brought_in

    def walk(self, mainline_sha: str, head: str) -> Walk | None:
        """The merge-base of ``head`` and a mainline commit, or None to ask git."""
        if mainline_sha not in self.index or head not in self.parents:
            return None
        limit = len(self.mainline) - 1 - self.index[mainline_sha]  # its position, oldest = 0
        met: set[str] = set()
        walked: set[str] = set()
        stack = [head]
        while stack:
            sha = stack.pop()
            if sha in walked or sha in met:
                continue
            if self.brought_in.get(sha, limit + 1) <= limit:
                met.add(sha)
                continue
            if sha not in self.parents:
                return None  # history not read this far (a head outside the graph)
            walked.add(sha)
            stack.extend(self.parents[sha])
        if not met or (len(met) > 1 and not all(m in self.index for m in met)):
            return None
        # several first-parent commits met (the PR merged the branch into itself): they line
        # up on the first-parent chain, so the newest is the one best common ancestor
        base = min(met, key=self.index.__getitem__) if len(met) > 1 else next(iter(met))
        oldest = min((self.authored[s] for s in walked), default=None)
        return Walk(base, frozenset(walked), oldest)


def authored_datetime(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _mainline(git_dir: str, branch: str) -> list[MainlineCommit]:
    output = _git(
        git_dir, "log", "--first-parent", f"--format=%H{FIELD}%P{FIELD}%cI{FIELD}%B{RECORD}", branch
    )
    commits = []
    for record in output.split(RECORD):
        if not record.strip():
            continue
        sha, parents, committed, message = record.lstrip("\n").split(FIELD, 3)
        commits.append(
            MainlineCommit(
                sha,
                tuple(parents.split()),
                datetime.fromisoformat(committed).astimezone(UTC),
                message.rstrip("\n"),
            )
        )
    return commits


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", errors="replace")  # bytes: a message's CRLF stays as written
