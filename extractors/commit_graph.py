"""A branch's commit graph read with one ``git log``, for merge-bases without a process each.

Mining needs the merge-base of every merged PR (its head against the branch it was merged into,
just before the merge) and the author date of the PR's oldest commit. Asking ``git merge-base``
and ``git log`` once per PR is two processes per PR; this reads the graph once and answers
in-process. ``commits`` holds every commit the branch reaches, with its message (or only the
first-parent line, for first-parent mining); ``mainline`` is the branch's first-parent line.

Each commit reachable from the branch is numbered by the first-parent (mainline) commit that
brought it in. A commit is an ancestor of mainline commit *j* exactly when its number is at most
*j*. Walking back from a PR head through commits numbered above *j* (or not on the branch at
all) therefore stops at the common ancestors that are best candidates; when exactly one is met,
it is the merge-base, and the commits walked are ``base..head``. When several are met and all
are first-parent commits (the PR merged the mainline into itself), they are ordered by that
chain and the newest is the merge-base. Anything else is left to ``merge_base``.

A PR merged into another line (a maintenance branch merged into the target later) is walked
the same way against that line: each first-parent chain met is a ``Line`` numbered like the
target's, down to the commit where it joins a line already numbered.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime

FIELD, RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class HistoryCommit:
    """One commit the branch reaches, as mining reads it."""

    sha: str
    parents: tuple[str, ...]
    committed_at: datetime
    message: str

    @property
    def subject(self) -> str:
        """The first paragraph on one line, as git's ``%s`` gives it."""
        return " ".join(line.strip() for line in self.message.split("\n\n", 1)[0].splitlines())

    @property
    def body(self) -> str:
        """What follows the first paragraph, as git's ``%b`` gives it."""
        return self.message.split("\n\n", 1)[1] if "\n\n" in self.message else ""


@dataclass(frozen=True)
class Walk:
    """What walking back from a head found: the merge-base and the oldest author time."""

    base: str
    commits: frozenset[str]  # base..head
    oldest_authored: int | None  # unix time; None when base..head is empty


@dataclass
class Line:
    """A first-parent chain of the branch's history: the target's own, or a branch merged in.

    ``brought_in`` numbers every commit the line reaches but its join point does not by the
    position (oldest = 0) of the line commit that brought it in; the commits below the join
    point are the joined line's (``join``: that line and the join point's position on it).
    A commit is an ancestor of the line commit at position *j* exactly when it is brought in
    at a position up to *j*, or is an ancestor of the join point.
    """

    brought_in: dict[str, int] = field(default_factory=dict)
    join: tuple[Line, int] | None = None

    def reaches(self, limit: int, sha: str) -> bool:
        """Whether the line commit at position ``limit`` reaches ``sha``."""
        line: Line | None = self
        while line is not None:
            position = line.brought_in.get(sha)
            if position is not None:
                return position <= limit
            line, limit = line.join if line.join is not None else (None, 0)
        return False


class CommitGraph:
    """A branch's history read once (``git log``), with parents, authors' dates and its mainline."""

    def __init__(
        self,
        git_dir: str | os.PathLike[str],
        branch: str,
        extra_heads: list[str],
        first_parent: bool = False,
    ) -> None:
        self.git_dir = str(git_dir)
        history = _history(self.git_dir, branch, first_parent)
        self.commits = {c.sha: c for c in history}  # newest first, as git log lists them
        self.mainline = _first_parent_line(history, self.commits)
        self.index = {c.sha: i for i, c in enumerate(self.mainline)}  # newest is 0
        self.parents: dict[str, tuple[str, ...]] = {}
        self.authored: dict[str, int] = {}
        self._read_graph(branch, extra_heads)
        self._target = Line()
        self._lines: dict[str, tuple[Line, int]] = {}  # line commit -> its line and position
        for position, commit in enumerate(reversed(self.mainline)):
            self._bring_in(self._target, position, commit.sha)
            self._lines[commit.sha] = (self._target, position)
        self.brought_in = self._target.brought_in

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

    def _bring_in(self, line: Line, position: int, tip: str) -> None:
        """Number what the line commit ``tip`` brings in (not reached by the line already)."""
        join = line.join
        stack = [tip]
        while stack:
            sha = stack.pop()
            if sha in line.brought_in or (join is not None and join[0].reaches(join[1], sha)):
                continue
            line.brought_in[sha] = position
            stack.extend(self.parents.get(sha, ()))

    def _line_of(self, sha: str) -> tuple[Line, int] | None:
        """The line ``sha`` lies on and its position there, made on first use."""
        if sha in self._lines:
            return self._lines[sha]
        if sha not in self.parents:
            return None
        chain: list[str] = []
        below: str | None = sha
        while below is not None and below not in self._lines and below in self.parents:
            chain.append(below)
            below = self.parents[below][0] if self.parents[below] else None
        line = Line(join=self._lines.get(below) if below is not None else None)
        for position, commit in enumerate(reversed(chain)):
            self._bring_in(line, position, commit)
            self._lines[commit] = (line, position)
        return self._lines[sha]

    def on_branch(self, sha: str) -> bool:
        """Whether the branch reaches ``sha`` (as ``git for-each-ref --merged`` tells)."""
        return sha in self.brought_in

    def walk(self, merged_into: str, head: str) -> Walk | None:
        """The merge-base of ``head`` and a commit of the history, or None to ask git.

        ``merged_into`` is usually a first-parent commit of the target; a commit of another
        line (a maintenance branch) is put on a line of its own first.
        """
        placed = self._line_of(merged_into)
        if placed is None or head not in self.parents:
            return None
        line, limit = placed
        met: set[str] = set()
        walked: set[str] = set()
        stack = [head]
        while stack:
            sha = stack.pop()
            if sha in walked or sha in met:
                continue
            if line.reaches(limit, sha):
                met.add(sha)
                continue
            if sha not in self.parents:
                return None  # history not read this far (a head outside the graph)
            walked.add(sha)
            stack.extend(self.parents[sha])
        base = self._best(met)
        if base is None:
            return None
        oldest = min((self.authored[s] for s in walked), default=None)
        return Walk(base, frozenset(walked), oldest)

    def _best(self, met: set[str]) -> str | None:
        """The one best common ancestor among those met, or None to ask git.

        Several are met when the PR merged the branch into itself: if they all lie on one
        line, they line up on its first-parent chain and the newest is the best.
        """
        if len(met) == 1:
            return next(iter(met))
        placed = [self._lines.get(m) for m in met]
        lines = {id(p[0]) for p in placed if p is not None}
        if not met or None in placed or len(lines) != 1:
            return None
        return max(met, key=lambda m: self._lines[m][1])


def authored_datetime(timestamp: int) -> datetime:
    """A git timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)


def _history(git_dir: str, branch: str, first_parent: bool) -> list[HistoryCommit]:
    only_first = ["--first-parent"] if first_parent else []
    output = _git(
        git_dir, "log", *only_first, f"--format=%H{FIELD}%P{FIELD}%ct{FIELD}%B{RECORD}", branch
    )
    commits = []
    for record in output.split(RECORD):
        if not record.strip():
            continue
        sha, parents, committed, message = record.lstrip("\n").split(FIELD, 3)
        commits.append(
            HistoryCommit(
                sha,
                tuple(parents.split()),
                # unix time: a commit's zone can be malformed (``+518:00`` in a real history)
                authored_datetime(int(committed)),
                message.rstrip("\n"),
            )
        )
    return commits


def _first_parent_line(
    history: list[HistoryCommit], commits: dict[str, HistoryCommit]
) -> list[HistoryCommit]:
    """The branch tip (git log's first commit) and its first parents, newest first."""
    line: list[HistoryCommit] = []
    commit = history[0] if history else None
    while commit is not None:
        line.append(commit)
        commit = commits.get(commit.parents[0]) if commit.parents else None
    return line


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", errors="replace")  # bytes: a message's CRLF stays as written
