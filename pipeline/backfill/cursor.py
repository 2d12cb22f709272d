"""Where incremental GitHub mining resumes: per repository, the newest merge fully handled.

``WORK/cursors/owner__name.json``, in the dataset's work folder (``DatasetLayout.cursors_dir``:
a writer's state, not published with the dataset), holds the merge time up to which every
selected PR is handled (its task written, or deliberately left out) and the PRs merged at
exactly that second, so a rerun without ``--since`` lists only PRs merged after it, and a PR
merged in the same second as the last one handled is still mined. A copy of the dataset without
its work folder has no cursor: its first run there mines from the start, skipping the PRs
already written.

Invariants: the cursor is written atomically (hidden temporary file, fsync, rename, as shards
are) and only after the tasks it covers are written, so a crash leaves the previous cursor and
the rerun redoes what the dataset's written ids then skip; it never moves past a PR whose task
is not written (an infrastructure failure holds it back) and never moves backwards.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.core.errors import UserInputError
from pipeline.dataset.storage import DatasetLayout, replace_atomically


class Cursor(BaseModel):
    """How far a GitHub repository's merged PRs are written: the newest merge time covered."""

    model_config = ConfigDict(frozen=True)

    repo: str
    merged_through: datetime
    pulls: list[int]  # the PRs merged at exactly ``merged_through``, all handled

    def covers(self, number: int, merged_at: datetime) -> bool:
        """Whether a PR merged at ``merged_at`` was handled by an earlier run."""
        return merged_at < self.merged_through or (
            merged_at == self.merged_through and number in self.pulls
        )


def cursor_path(layout: DatasetLayout, repo: str) -> Path:
    """Where the cursor of ``repo`` lives for the dataset at ``layout``."""
    return layout.cursors_dir / f"{repo.replace('/', '__')}.json"


def read_cursor(layout: DatasetLayout, repo: str) -> Cursor | None:
    """The cursor of ``repo`` for ``layout``; None before the first run that moves it."""
    path = cursor_path(layout, repo)
    try:
        return Cursor.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError):
        raise UserInputError(
            f"the cursor {path} is unreadable; delete it (the next run then mines from the "
            "start, skipping PRs already written) or pass --since"
        ) from None


def write_cursor(layout: DatasetLayout, cursor: Cursor) -> None:
    """Write ``cursor`` for ``layout``, replacing the previous one atomically."""
    path = cursor_path(layout, cursor.repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = cursor.model_dump_json(indent=2).encode() + b"\n"
    replace_atomically(path, lambda handle: handle.write(data))


def advanced(
    previous: Cursor | None, repo: str, merged_at: dict[int, datetime], pending: set[int]
) -> Cursor | None:
    """The cursor after a run that selected ``merged_at`` (PR -> merge time) from ``previous``.

    ``pending`` are the selected PRs whose tasks are not written: the cursor stops before the
    oldest of them. Every other selected PR is handled.
    """
    blocked = min((merged_at[n] for n in pending), default=None)
    handled = {n: t for n, t in merged_at.items() if blocked is None or t < blocked}
    if not handled:
        return previous
    newest = max(handled.values())
    numbers = {n for n, t in handled.items() if t == newest}
    if previous is not None:
        if newest < previous.merged_through:
            return previous
        if newest == previous.merged_through:
            numbers |= set(previous.pulls)
    return Cursor(repo=repo, merged_through=newest, pulls=sorted(numbers))
