"""The dataset commands of ``taskforge``: ``stats``, ``show``, ``export`` and ``compact``.

``register(app)`` adds them to the main Typer app (``pipeline.cli.main``). Results go to stdout,
warnings to stderr, one line each; errors are ``TaskforgeError``s, which ``pipeline.cli.main.main``
prints as one line with their exit code: 2 for bad input, 5 (``BadShardError``) for a shard that
cannot be trusted, named in the line. Every command stops at such a shard: one that cannot be
read or is of another schema version, or one whose size or sha256 is not what the manifest lists
(it changed after it was written); figures or exports without its rows, or with rows that are
not the ones written, would look whole and be wrong. Disagreements with the manifest that leave
the rows right (an unlisted shard, a listed one that is gone) are warnings of ``stats`` and
``show``. Each command finds the dataset's work folder (the manifest) as ``backfill`` does:
``--work-dir``, else under ``--cache-dir``; a copied dataset folder without one reads silently.
OUT is a folder or a URL, as backfill's ``--out`` (``dataset_layout``); an unknown scheme, a
missing bucket or refused credentials are bad input (2), a storage that does not answer is
infrastructure (3). What each command reads with (polars, the export's harness types) is
imported when it runs: every ``taskforge`` command loads this module, a backfill's rerun with
nothing new included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.console import console, stdout
from pipeline.cli.options import CacheDirOption, WorkDirOption
from pipeline.core.errors import UserInputError
from pipeline.dataset.location import dataset_location
from pipeline.dataset.storage import SCHEMA_VERSION, DatasetLayout

DatasetArgument = Annotated[
    str, typer.Argument(help="Dataset folder or URL (the --out of backfill).", show_default=False)
]


def dataset_layout(
    out: str, work_dir: Path | None = None, cache_dir: Path | None = None
) -> DatasetLayout:
    """The layout of the dataset OUT names, a folder or a URL, with its work folder."""
    return DatasetLayout.of(dataset_location(out), work_dir, cache_dir=cache_dir)


def warn(lines: list[str]) -> None:
    """Print each line as a warning."""
    for line in lines:
        console.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


def stats(
    out: DatasetArgument, work_dir: WorkDirOption = None, cache_dir: CacheDirOption = None
) -> None:
    """Per language and per repository: verified tasks, rejections by reason, FAIL_TO_PASS sizes."""
    from pipeline.dataset.browse import dataset_stats, render_stats

    layout = dataset_layout(out, work_dir, cache_dir)
    figures = dataset_stats(layout)
    warn(figures.warnings)
    render_stats(figures, layout, stdout)


def show(
    out: DatasetArgument,
    instance_id: Annotated[str, typer.Argument(help="The task's instance id, owner__name-N.")],
    work_dir: WorkDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """One task: problem statement, highlighted patches and test lists."""
    from pipeline.dataset.browse import find_task, render_task

    task, warnings = find_task(dataset_layout(out, work_dir, cache_dir), instance_id)
    warn(warnings)
    render_task(task, stdout)


def export(
    out: DatasetArgument,
    to: Annotated[Path, typer.Option(help="Folder for the exported files.")],
    export_format: Annotated[
        str, typer.Option("--format", help="Export format: swebench.")
    ] = "swebench",  # ExportFormat.SWEBENCH, whose module is imported when the command runs
    work_dir: WorkDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Write the verified tasks for another harness (swebench: what its harness grades)."""
    from pipeline.dataset.export import ExportFormat, export_swebench

    if export_format not in set(ExportFormat):
        choices = ", ".join(ExportFormat)
        raise UserInputError(f"--format takes one of: {choices}; got {export_format!r}")
    export = export_swebench(dataset_layout(out, work_dir, cache_dir), to)
    for path in export.paths:
        stdout.print(f"wrote {path}", highlight=False, soft_wrap=True)
    stdout.print(f"{len(export.instances)} instances exported", highlight=False)
    for reason, count in export.left_out.most_common():
        stdout.print(f"{count} verified tasks left out: {reason}", highlight=False, soft_wrap=True)


def compact(
    out: DatasetArgument, work_dir: WorkDirOption = None, cache_dir: CacheDirOption = None
) -> None:
    """Rewrite the shards with one row per instance id (newest wins); safe to interrupt."""
    from pipeline.dataset.compact import compact as compact_dataset

    report = compact_dataset(dataset_layout(out, work_dir, cache_dir))
    for line in report.moved:  # a dataset of the previous layout: what moved, what stayed
        console.print(line, highlight=False, soft_wrap=True)
    if report.changed:
        stdout.print(
            f"compacted {report.rows_before} rows in {report.shards_before} shards into "
            f"{report.rows_after} rows in {report.shards_after} shards",
            highlight=False,
        )
    else:
        stdout.print(
            f"already compact: {report.rows_after} rows in {report.shards_after} shards",
            highlight=False,
        )


def upgrade(
    out: DatasetArgument, work_dir: WorkDirOption = None, cache_dir: CacheDirOption = None
) -> None:
    """Rewrite shards of an older schema version as this one (a backfill into OUT does too)."""
    from pipeline.dataset.upgrade import upgrade_dataset

    layout = dataset_layout(out, work_dir, cache_dir)
    layout.require()
    layout.check_places()
    lines = upgrade_dataset(layout).lines()
    for line in lines or [f"{out} is already at schema version {SCHEMA_VERSION}"]:
        stdout.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the dataset commands to ``app``."""
    for command in (stats, show, export, compact, upgrade):
        app.command()(command)
