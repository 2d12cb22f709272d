"""What a person sees: the live progress bar and the summary table (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.backfill.request import BackfillSummary
from pipeline.core.records import OUTCOME_REASONS, Task

console = Console(stderr=True)
stdout = Console()


class RichSink:
    """A progress bar over candidates, with the current stage as its label."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.bar = progress.add_task("starting", total=None)

    def stage(self, message: str) -> None:
        """Show the stage in the progress bar's label."""
        self.progress.update(self.bar, description=message)

    def planned(self, total: int) -> None:
        """Set the bar's total."""
        self.progress.update(self.bar, total=total)

    def finished(self, task: Task) -> None:
        """Advance the bar by one finished candidate."""
        self.progress.advance(self.bar)


@contextmanager
def rich_progress() -> Iterator[RichSink]:
    """A progress bar on stderr for the run inside the block."""
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield RichSink(progress)


def render_summary(summary: BackfillSummary) -> None:
    """Print the run's yield table and where its output and its logs are."""
    table = Table(title=f"{summary.repo}: yield", title_justify="left")
    table.add_column("count", justify="right")
    table.add_column("what")
    table.add_row(str(summary.mined), "merged PRs selected")
    if summary.skipped:
        table.add_row(str(summary.skipped), "already in the output (skipped)")
    if summary.not_found:
        table.add_row(f"[red]{len(summary.not_found)}[/]", "listed PRs not found (not mined)")
        for number, why in sorted(summary.not_found.items()):
            table.add_row("", f"  #{number}: {why}")
    table.add_row(f"[green]{summary.verified}[/]", "verified")
    for outcome, count in sorted(summary.rejected.items(), key=lambda item: -item[1]):
        table.add_row(str(count), f"rejected: {outcome.value} ({OUTCOME_REASONS[outcome]})")
    if summary.infrastructure_retries:
        table.add_row(str(summary.infrastructure_retries), "infrastructure failures retried")
    if summary.infrastructure:
        table.add_row(f"[red]{summary.infrastructure}[/]", "infrastructure failure (not written)")
    table.add_row(str(summary.environments), "environments (dependency states) working")
    if summary.environments_failed:
        table.add_row(f"[red]{summary.environments_failed}[/]", "environments that failed")
    table.add_row(str(summary.images_built), "environment images built in this run")
    stdout.print(table)
    out = summary.out.resolve() if isinstance(summary.out, Path) else summary.out
    stdout.print(f"wall time {summary.wall_time_s:.1f} s; output: {out}")
    if summary.logs_dir is not None:
        stdout.print(f"logs: {summary.logs_dir.resolve()}", highlight=False, soft_wrap=True)
