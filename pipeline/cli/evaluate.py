"""``taskforge evaluate``: grade a model's predictions against a dataset's verified tasks.

``register(app)`` adds the command to the main Typer app (``pipeline.cli.main``). The options
follow SWE-bench's ``run_evaluation``: ``--predictions`` a ``.jsonl`` or ``.json`` file in any
of its forms or ``gold``, ``--instance`` (``-i``, repeatable) to grade only some, ``--run-id``
to name the run, whose reports default to ``logs/run_evaluation/RUN_ID/``. Bad input (a missing
dataset, a malformed prediction, an unknown instance id, neither ``--report`` nor
``--run-id``, a base commit no source holds) is a ``UserInputError``: one line, exit code 2,
before any container starts. An ``--instance`` id without a prediction is a warning on stderr,
as in SWE-bench. Predictions not graded (``error_ids``: still failing on infrastructure after
their retries, or a report that cannot be read back) end the run with exit code 3
(``TransientError``) once every other report and the summary are written; rerunning the same
command grades just those.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pipeline.cli.console import console, stdout
from pipeline.cli.dataset import DatasetArgument, warn
from pipeline.cli.options import CacheDirOption
from pipeline.core.errors import TransientError
from pipeline.dataset.location import dataset_location

if TYPE_CHECKING:  # the evaluation's modules (docker-py...) load when the command runs
    from pipeline.consumers.predictions import EvaluationSummary, InstanceReport


def evaluate(
    out: DatasetArgument,
    predictions: Annotated[
        str,
        typer.Option(
            help="A .jsonl file (one prediction per line), a .json file (a list, or an object "
            "keyed by instance id), or gold: the dataset's own fixes."
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the reports and summary.json (default: logs/run_evaluation/RUN_ID)."
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="Names the run (SWE-bench's --run_id); in summary.json.")
    ] = None,
    instance: Annotated[
        list[str] | None,
        typer.Option("--instance", "-i", help="Grade only this instance id (repeatable)."),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            help="A clone, mirror or URL holding the tasks' base commits (repeatable); "
            "default: the repositories in the cache folder."
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Concurrent test runs.")] = (
        os.cpu_count() or 1
    ),
    timeout: Annotated[int, typer.Option(min=1, help="Seconds per test run.")] = 900,
    memory: Annotated[str, typer.Option(help="Memory limit per test run.")] = "2g",
    redo: Annotated[bool, typer.Option(help="Grade again instances already reported.")] = False,
) -> None:
    """Grade PREDICTIONS (SWE-bench's forms) against OUT's verified tasks."""
    from pipeline.consumers.evaluate import EvaluationRequest, run_evaluation
    from pipeline.consumers.predictions import GOLD
    from validators.sandbox import SandboxLimits

    request = EvaluationRequest(
        out=dataset_location(out),
        predictions=GOLD if predictions == GOLD else Path(predictions),
        report_dir=report,
        run_id=run_id,
        instance_ids=tuple(instance or ()),
        sources=source or [],
        cache_dir=cache_dir,
        workers=workers,
        limits=SandboxLimits(memory=memory, timeout_s=timeout),
        redo=redo,
    )
    summary = run_evaluation(request, on_graded=_print_graded, on_warning=lambda line: warn([line]))
    render_evaluation(summary, request.report_folder)
    if summary.error_instances:  # infrastructure failures after retries, or unreadable reports
        raise TransientError(
            f"{summary.error_instances} predictions were not graded (infrastructure failures "
            f"after retries: {summary.infrastructure}); rerun the same command to grade them"
        )


def _print_graded(report: InstanceReport) -> None:
    mark = "[green]resolved[/]" if report.resolved else f"[yellow]{report.reason.value}[/]"
    console.print(f"{report.instance_id}: {mark} ({report.duration_s:.1f} s)", highlight=False)


def render_evaluation(summary: EvaluationSummary, report_dir: Path) -> None:
    """Print the evaluation's summary table and where its reports are."""
    from validators.regrade import Resolution

    title = f"evaluation {summary.run_id}" if summary.run_id else "evaluation"
    table = Table(title=title, title_justify="left")
    table.add_column("count", justify="right")
    table.add_column("what")
    table.add_row(str(summary.total_instances), "predictions")
    skipped = summary.total_instances - summary.graded_now
    if skipped:
        table.add_row(str(skipped), "already graded (skipped)")
    rate = f"{summary.resolved_rate:.1%}"
    table.add_row(f"[green]{summary.resolved_instances}[/]", f"resolved ({rate})")
    for reason, count in summary.unresolved.items():
        if count:
            colour = "red" if reason is Resolution.INFRASTRUCTURE else "yellow"
            table.add_row(f"[{colour}]{count}[/]", f"unresolved: {reason.value}")
    if summary.incomplete_ids:
        table.add_row(f"[dim]{len(summary.incomplete_ids)}[/]", "verified tasks not predicted")
    stdout.print(table)
    stdout.print(
        f"wall time {summary.wall_time_s:.1f} s; reports: {report_dir.resolve()}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to ``app``."""
    app.command()(evaluate)
