"""Options of the ``taskforge`` commands that mine (``backfill``, ``mine``), parsed once.

The option types both commands declare are defined here once (``Source``, ``PrsOption``...);
each parser turns a command-line string into its typed value or raises a ``UserInputError``
whose one line names the option.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.backfill.source import URL, check_repo_name, is_github_name, repo_name_from_url
from pipeline.core.errors import UserInputError

Source = Annotated[
    str, typer.Argument(help="A git clone, a bare mirror, a git URL, or OWNER/NAME on GitHub.")
]
RepoOption = Annotated[str | None, typer.Option(help="OWNER/NAME (from the URL if omitted).")]
PrsOption = Annotated[str | None, typer.Option(help="Only these PR numbers, e.g. 12,15.")]
SinceOption = Annotated[str | None, typer.Option(help="Merged on or after (ISO date).")]
UntilOption = Annotated[str | None, typer.Option(help="Merged on or before (ISO date).")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="At most N newest PRs.")]
BranchOption = Annotated[str | None, typer.Option(help="Target branch (default: HEAD).")]
WorkersOption = Annotated[int, typer.Option(min=1, help="Concurrent test runs.")]
TimeoutOption = Annotated[int, typer.Option(min=1, help="Seconds per test run.")]
MemoryOption = Annotated[str, typer.Option(help="Memory limit per test run (2g, 512m).")]
CpusOption = Annotated[float, typer.Option(min=0.01, help="CPUs per test run.")]
RepeatBeforeOption = Annotated[
    int, typer.Option(min=1, help="Runs of base + test patch (flakiness check).")
]
RepeatAfterOption = Annotated[
    int, typer.Option(min=1, help="Runs of base + test patch + fix (flakiness check).")
]
TaskRunnerOption = Annotated[
    str, typer.Option(help="threads, dask (a local cluster) or dask://HOST:PORT.")
]
ApiUrlOption = Annotated[
    str, typer.Option(envvar="GITHUB_API_URL", help="GitHub API (Enterprise: HOST/api/v3).")
]
AppIdOption = Annotated[
    str | None, typer.Option(envvar="GITHUB_APP_ID", help="GitHub App id (App auth).")
]
AppKeyFileOption = Annotated[
    Path | None, typer.Option(envvar="GITHUB_APP_KEY_FILE", help="The App's private key.")
]
InstallationIdOption = Annotated[
    int | None,
    typer.Option(envvar="GITHUB_APP_INSTALLATION_ID", help="The App's installation id."),
]
AllowNoIssueOption = Annotated[
    bool, typer.Option(help="Keep PRs linking no issue (description as problem statement).")
]
MaxRateWaitOption = Annotated[
    int, typer.Option(min=0, help="Seconds to wait at most for a rate limit to reset.")
]
OUT_HELP = (
    "Output dataset: a folder, or a URL (s3://BUCKET/PREFIX, gs://, abfs://, hdfs://, any "
    "fsspec filesystem; credentials from the environment)."
)
OutOption = Annotated[str, typer.Option(help=OUT_HELP)]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        envvar="TASKFORGE_CACHE",
        help="Folder of git mirrors, the demo repository and datasets' work folders "
        "(default: data/cache).",
    ),
]
WorkDirOption = Annotated[
    Path | None,
    typer.Option(
        help="The dataset's work folder, kept out of it: manifest, logs, Prefect results, "
        "lock (default: CACHE/work/NAME-HASH).",
    ),
]
FirstParentOption = Annotated[
    bool, typer.Option(help="Mine only the target's first-parent line, not its whole ancestry.")
]
BloblessOption = Annotated[
    bool,
    typer.Option(help="Mirror a URL or GitHub source without file contents (fetched on demand)."),
]
MaxFilesOption = Annotated[int, typer.Option(min=1, help="Drop PRs changing more files.")]
MaxLinesOption = Annotated[int, typer.Option(min=1, help="Drop PRs changing more lines.")]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        envvar="TASKFORGE_PUSH_REGISTRY",
        help="HOST[:PORT]/NAMESPACE: push every image there; tasks record it by digest.",
    ),
]
WorkerSourceOption = Annotated[
    str | None,
    typer.Option(
        help="What workers of dask://HOST:PORT open: a git URL, or a path every worker mounts "
        "(default: SOURCE, when it is a URL or OWNER/NAME)."
    ),
]
BuildOnWorkersOption = Annotated[
    bool,
    typer.Option(help="Build environments on the Dask workers too (each pushes to --registry)."),
]
BenchmarkOption = Annotated[
    Path | None,
    typer.Option(
        help="An evaluation set to keep out: SWE-bench rows (instance_id, repo, base_commit, "
        "patch) in a .jsonl, .json, .csv or .parquet file, or a folder of Parquet files; its "
        "pull requests and patches are flagged or dropped (--benchmark-action).",
        show_default=False,
    ),
]
BenchmarkActionOption = Annotated[
    str,
    typer.Option(help="flag (keep, with benchmark_match) or drop (rejected as in_benchmark)."),
]
StrengthOption = Annotated[
    bool,
    typer.Option(
        help="Run wrong patches (a hunk left out, a mutated line) against each verified task's "
        "FAIL_TO_PASS and record its test strength."
    ),
]
RetryOption = Annotated[
    str | None,
    typer.Option(
        help="Run again the PRs whose written task has one of these outcomes, comma-separated "
        "(environment_failed,tests_not_collected): after an upgrade. Their new rows replace "
        "the old ones.",
        show_default=False,
    ),
]
MinStrengthOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Reject verified tasks whose strength (wrong patches caught ÷ tried) is below "
        "this, as weak_tests (default: kept, flagged by the strength column).",
        show_default=False,
    ),
]
InstanceImagesOption = Annotated[
    bool,
    typer.Option(
        help="Per verified task, an image with the repository in /testbed (SWE-bench's form)."
    ),
]
TokenFileOption = Annotated[
    Path | None, typer.Option(help="File holding a GitHub token (else $GITHUB_TOKEN).")
]


def repo_name(source: str, repo: str | None) -> str:
    """``--repo``, else the name a URL or GitHub source implies; bad input otherwise."""
    if is_github_name(source):
        if repo and repo != source:
            raise UserInputError(f"SOURCE {source} names the GitHub repository; drop --repo {repo}")
        return check_repo_name(source)
    if repo:
        return check_repo_name(repo)
    if URL.match(source):
        return repo_name_from_url(source)
    raise UserInputError("--repo OWNER/NAME is required when SOURCE is a local path")


def pr_numbers(text: str | None) -> list[int]:
    """The PR numbers of ``--prs`` (``12,15``); bad input otherwise."""
    if not text:
        return []
    try:
        return [int(part.strip().lstrip("#")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserInputError(f"--prs takes numbers separated by commas, got {text!r}") from None


def iso_date(text: str | None, option: str, end_of_day: bool = False) -> datetime | None:
    """``text`` as a UTC datetime (the day's end with ``end_of_day``); bad input otherwise."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"{option} takes an ISO date such as 2024-05-01, got {text!r}"
        ) from None
    if end_of_day and len(text) == 10:
        value = value.replace(hour=23, minute=59, second=59)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def mining_selection(
    source: str,
    repo: str | None,
    prs: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    branch: str | None,
    first_parent: bool,
    blobless: bool,
) -> dict[str, Any]:
    """The request fields ``backfill`` and ``mine`` share (what to mine), parsed once."""
    return {
        "source": source,
        "repo": repo_name(source, repo),
        "prs": pr_numbers(prs),
        "since": iso_date(since, "--since"),
        "until": iso_date(until, "--until", end_of_day=True),
        "limit": limit,
        "branch": branch,
        "first_parent": first_parent,
        "blobless": blobless,
    }
