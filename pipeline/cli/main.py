"""The ``taskforge`` command line (Typer).

Every ``TaskforgeError`` ends the command with its one-line message and its branch's exit code
(``pipeline.core.errors``: 2 bad input, 3 infrastructure, 5 an object that cannot be
processed), never a traceback. A backfill whose ``--prs`` names PRs that
cannot be mined runs the others, names those in its summary and exits 4 (``EXIT_PARTIAL``);
when none of them can be mined it is bad input (2). Input is checked before Prefect starts, so
a typo costs no server start-up; Prefect's start-up is paid once per run, and overlaps the
loading of the flows (``pipeline.orchestration.prefect_server``). A backfill that would find
every selected PR already in the output prints its summary and stops before that, importing
no Prefect and writing nothing (``pipeline.backfill.up_to_date``). Prefect's own log lines
go to the run's ``WORK/logs/prefect.log`` (``pipeline.orchestration.prefect_logs``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import typer
from rich.markup import escape

from extractors.github_access import DEFAULT_API_URL
from pipeline.backfill.benchmark import BenchmarkAction, cached_benchmark
from pipeline.backfill.request import (
    BackfillRequest,
    BackfillSummary,
    RunnerKind,
    TaskRunnerSpec,
    memory_limit,
    retry_outcomes,
    strength_setting,
)
from pipeline.backfill.source import open_source
from pipeline.backfill.steps import check_github_source, select_pulls
from pipeline.backfill.up_to_date import nothing_new
from pipeline.backfill.worker_repo import check_build_on_workers, check_worker_source
from pipeline.cli.console import console, render_summary, rich_progress, stdout
from pipeline.cli.dataset import register
from pipeline.cli.evaluate import register as register_evaluate
from pipeline.cli.images import register as register_images
from pipeline.cli.options import (
    AllowNoIssueOption,
    ApiUrlOption,
    AppIdOption,
    AppKeyFileOption,
    BenchmarkActionOption,
    BenchmarkOption,
    BloblessOption,
    BranchOption,
    BuildOnWorkersOption,
    CacheDirOption,
    CpusOption,
    FirstParentOption,
    InstallationIdOption,
    InstanceImagesOption,
    LimitOption,
    MaxFilesOption,
    MaxLinesOption,
    MaxRateWaitOption,
    MemoryOption,
    MinStrengthOption,
    OutOption,
    PrsOption,
    RegistryOption,
    RepeatAfterOption,
    RepeatBeforeOption,
    RepoOption,
    RetryOption,
    SinceOption,
    Source,
    StrengthOption,
    TaskRunnerOption,
    TimeoutOption,
    TokenFileOption,
    UntilOption,
    WorkDirOption,
    WorkersOption,
    WorkerSourceOption,
    mining_selection,
)
from pipeline.cli.preview import register as register_preview
from pipeline.cli.serve import register as register_serve
from pipeline.cli.stopping import cleaned_up_on_stop
from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import (
    EXIT_PARTIAL,
    TaskforgeError,
    TransientError,
    exit_code,
)
from pipeline.core.extras import Extra, require
from pipeline.dataset.location import dataset_location
from pipeline.dataset.upgrade import upgrade_dataset
from pipeline.orchestration import prefect_logs
from pipeline.orchestration.prefect_server import local_api

app = typer.Typer(
    help="Turn merged pull requests into verified, executable tasks (Parquet).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

CPUS = os.cpu_count() or 1  # the default of --workers
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # telemetry heartbeats fail offline
    # The progress bar, the summary and one error line are the output; Prefect's own log lines
    # go to WORK/logs/prefect.log (pipeline.orchestration.prefect_logs), warnings and worse
    # unless PREFECT_LOGGING_LEVEL says otherwise.
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


@app.command()
def backfill(
    source: Source,
    out: OutOption,
    repo: RepoOption = None,
    prs: PrsOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = None,
    branch: BranchOption = None,
    first_parent: FirstParentOption = False,
    blobless: BloblessOption = False,
    workers: WorkersOption = CPUS,
    timeout: TimeoutOption = 900,
    memory: MemoryOption = "2g",
    cpus: CpusOption = 1.0,
    max_files: MaxFilesOption = 50,
    max_lines: MaxLinesOption = 3000,
    repeat_before: RepeatBeforeOption = 2,
    repeat_after: RepeatAfterOption = 3,
    task_runner: TaskRunnerOption = "threads",
    api_url: ApiUrlOption = DEFAULT_API_URL,
    token_file: TokenFileOption = None,
    app_id: AppIdOption = None,
    app_key_file: AppKeyFileOption = None,
    installation_id: InstallationIdOption = None,
    allow_no_issue: AllowNoIssueOption = False,
    max_rate_wait: MaxRateWaitOption = 900,
    cache_dir: CacheDirOption = None,
    registry: RegistryOption = None,
    instance_images: InstanceImagesOption = False,
    work_dir: WorkDirOption = None,
    worker_source: WorkerSourceOption = None,
    build_on_workers: BuildOnWorkersOption = False,
    benchmark: BenchmarkOption = None,
    benchmark_action: BenchmarkActionOption = "flag",
    strength: StrengthOption = True,
    min_strength: MinStrengthOption = None,
    retry: RetryOption = None,
) -> None:
    """Mine SOURCE's merged PRs, build its environment, verify, and write Parquet to OUT."""
    selection = mining_selection(
        source, repo, prs, since, until, limit, branch, first_parent, blobless
    )
    action = BenchmarkAction.parse(benchmark_action)
    threshold = strength_setting(strength, min_strength)
    if benchmark is not None:  # read now: a bad file is one line before anything starts
        cached_benchmark(benchmark.resolve())
    request = BackfillRequest(
        **selection,
        out=dataset_location(out),
        workers=workers,
        timeout_s=timeout,
        memory=memory_limit(memory),
        cpus=cpus,
        max_files=max_files,
        max_changed_lines=max_lines,
        before_repeats=repeat_before,
        after_repeats=repeat_after,
        task_runner=TaskRunnerSpec.parse(task_runner),
        api_url=api_url,
        token_file=token_file,
        app_id=app_id,
        app_key_file=app_key_file,
        installation_id=installation_id,
        allow_no_issue=allow_no_issue,
        max_rate_wait_s=max_rate_wait,
        cache_dir=cache_dir or default_cache_dir(),
        registry=registry,
        instance_images=instance_images,
        work_dir=work_dir,
        worker_source=worker_source,
        build_on_workers=build_on_workers,
        benchmark=benchmark.resolve() if benchmark else None,
        benchmark_action=action,
        strength=strength,
        min_strength=threshold,
        retry=retry_outcomes(retry),
    )
    _run(request)


@app.command()
def demo(
    out: OutOption = "data/demo",
    cache_dir: CacheDirOption = None,
    registry: RegistryOption = None,
    instance_images: InstanceImagesOption = False,
    work_dir: WorkDirOption = None,
) -> None:
    """Generate the sample repository and backfill it: the embedded default job."""
    from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, is_current, write_sample_repo

    cache = cache_dir or default_cache_dir()
    source = cache / "sample-repo"
    if is_current(source):  # a rerun with nothing new costs next to nothing
        console.print(f"sample repository at {source}")
    else:
        if source.exists():
            shutil.rmtree(source)
        source.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=source.parent) as scratch:
            write_sample_repo(Path(scratch) / "repo").rename(source)
        console.print(f"sample repository written to {source}")
    request = BackfillRequest(
        source=str(source),
        repo=SAMPLE_REPO_NAME,
        out=dataset_location(out),
        cache_dir=cache,
        registry=registry,
        instance_images=instance_images,
        work_dir=work_dir,
    )
    _run(request)


def _run(request: BackfillRequest) -> None:
    request.layout().check_places()
    for line in upgrade_dataset(request.layout()).lines():  # before anything reads the shards
        console.print(line, highlight=False, soft_wrap=True)
    done = nothing_new(request)  # before Prefect, Docker or any write
    if done is not None:
        render_summary(done)
        stdout.print(
            f"nothing new: the {done.mined} merged PRs selected are all in {request.out}",
            highlight=False,
            soft_wrap=True,
        )
        if done.not_found:
            exit_partial(done.not_found)
        return
    _preflight(request)
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Finished validations are persisted in the work folder by run_backfill itself, for every
    # entry point alike (pipeline/orchestration/tasks.py: results_in).
    logs = request.layout().logs_dir
    with local_api(logs / "prefect-server.log") as wait_ready:
        prefect_log = prefect_logs.configure(logs)  # Prefect's own lines: the file, not here
        from pipeline.orchestration.flows import run_backfill  # imported while the server boots
        from pipeline.orchestration.progress import reporting

        wait_ready()
        try:
            with rich_progress() as sink, reporting(sink):
                summary: BackfillSummary = run_backfill(request)
        finally:
            prefect_logs.drain()  # while the server answers: nothing left for the exit
    render_summary(summary)
    noted = prefect_logs.attention_line(prefect_log)
    if noted:
        console.print(f"[bold yellow]note:[/] {escape(noted)}", highlight=False, soft_wrap=True)
    if summary.infrastructure:
        raise TransientError(
            f"{summary.infrastructure} candidates hit infrastructure failures and were not "
            "written; rerun the same command to retry them"
        )
    if summary.not_found:
        exit_partial(summary.not_found)


def exit_partial(not_found: dict[int, str], done: str = "done") -> None:
    """One line naming the listed PRs not found, and exit code 4: the rest was done."""
    numbers = ", ".join(f"#{n}" for n in sorted(not_found))
    console.print(
        f"[bold yellow]partial:[/] {len(not_found)} listed PRs not found ({numbers}); "
        f"the others were {done} (see the summary)",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(EXIT_PARTIAL)


def _preflight(request: BackfillRequest) -> None:
    """Fail fast, before Prefect starts, on input that cannot work; then create the output."""
    layout = request.layout()
    layout.check_places()
    if request.task_runner.kind is not RunnerKind.THREADS:
        require(Extra.DASK, f"--task-runner {request.task_runner}")
    check_worker_source(request)
    check_build_on_workers(request)
    if request.registry:
        from dockerfiles.registry import Registry  # docker and requests: not for a no-op rerun

        Registry.parse(request.registry).answers()  # one line now, not after the first build
    if request.from_github:
        check_github_source(request)  # one request: credentials, repository (and --prs)
    else:
        repo = open_source(request.source, request.cache_dir)
        if request.prs or request.branch:  # the history is read only when it can be wrong
            select_pulls(repo, request)  # an error only if no listed PR is found
    from pipeline.core.engine import docker_client

    if not request.build_on_workers:  # the flow's machine builds: its engine must answer
        docker_client().close()  # reachable; the flow opens its own clients
    for line in layout.prepare():  # a dataset of the previous layout: what moved, what stayed
        console.print(line, highlight=False, soft_wrap=True)


register(app)
register_serve(app)
register_evaluate(app)
register_images(app)
register_preview(app)


def main() -> None:
    """Entry point: one clear line and a non-zero exit for any TaskforgeError.

    SIGTERM or Ctrl-C stops the command after removing its test containers (exit 143 or 130).
    """
    try:
        with cleaned_up_on_stop():
            app()
    except TaskforgeError as error:
        message = escape(str(error))  # an install hint such as 'taskforge[dask]' is no markup
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise SystemExit(exit_code(error)) from None
