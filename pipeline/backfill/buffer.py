"""Results written in shards of a few tasks as they come, never one shard per task.

A crash loses at most the buffer, and what it held is replayed from the validation cache on the
rerun (``pipeline.orchestration.tasks``), so the buffer trades no work for fewer small shards.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from pipeline.core.records import Task

WRITE_EVERY = 10  # validated tasks buffered before a shard is written (the rest is cached)


class ShardBuffer:
    """Collects tasks and hands them to ``write`` ``every`` at a time, and the rest on exit."""

    def __init__(self, write: Callable[[list[Task]], None], every: int = WRITE_EVERY) -> None:
        """Buffer for ``write``, which gets at most ``every`` tasks per call."""
        self._write = write
        self._every = every
        self._held: list[Task] = []

    def add(self, task: Task) -> None:
        """Hold ``task``; write the buffer once it is full."""
        self._held.append(task)
        if len(self._held) >= self._every:
            self.flush()

    def flush(self) -> None:
        """Write what is held (an empty buffer is written too: the writer counts nothing)."""
        held, self._held = self._held, []
        self._write(held)

    def __enter__(self) -> ShardBuffer:
        """The buffer; leaving the block writes what it still holds, even on an error."""
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        """Write the rest."""
        self.flush()
