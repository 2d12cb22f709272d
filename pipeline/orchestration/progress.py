"""Where a running backfill reports progress: a no-op by default, a progress bar in the CLI.

Prefect records flow parameters, so a callback cannot travel as one; the CLI installs its
sink here for the duration of a run instead (``reporting``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from pipeline.core.records import Task


class ProgressSink(Protocol):
    """Where a run reports its progress (a progress bar, or nothing)."""

    def stage(self, message: str) -> None:
        """A new stage of the run began."""

    def planned(self, total: int) -> None:
        """``total`` candidates will finish in this run."""

    def finished(self, task: Task) -> None:
        """One candidate finished with its outcome."""


class _Silent:
    def stage(self, message: str) -> None:
        pass

    def planned(self, total: int) -> None:
        pass

    def finished(self, task: Task) -> None:
        pass


_sink: ProgressSink = _Silent()


def sink() -> ProgressSink:
    """The sink of the current run; one that discards everything outside ``reporting``."""
    return _sink


@contextmanager
def reporting(new_sink: ProgressSink) -> Iterator[None]:
    """Report the progress of runs inside the block to ``new_sink``."""
    global _sink
    previous, _sink = _sink, new_sink
    try:
        yield
    finally:
        _sink = previous
