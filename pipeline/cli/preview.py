"""``taskforge mine``: a dry run that lists what a backfill would mine, without Docker or Prefect.

``register(app)`` adds it to the main Typer app (``pipeline.cli.main``). Every merged PR found goes
to stdout, one line each (number, merge kind, base, fix and head commits, merge time, and
``candidate`` or the extractor's drop reason), or with ``--out FILE`` into FILE (``.jsonl``,
``.csv`` or ``.parquet``). The summary (counts per merge kind and per outcome, listed PRs not
found) goes to stderr. Exit codes are those of ``backfill``: 2 for bad input (one line), 3 for
infrastructure, 4 when some listed PRs were not found and the others were listed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from extractors.github_access import DEFAULT_API_URL
from pipeline.backfill.preview import Preview, check_output, preview, write_preview
from pipeline.backfill.request import BackfillRequest
from pipeline.cli.console import console
from pipeline.cli.options import (
    BloblessOption,
    BranchOption,
    FirstParentOption,
    LimitOption,
    MaxFilesOption,
    MaxLinesOption,
    PrsOption,
    RepoOption,
    SinceOption,
    Source,
    TokenFileOption,
    UntilOption,
    mining_selection,
)


def mine(
    source: Source,
    repo: RepoOption = None,
    prs: PrsOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = None,
    branch: BranchOption = None,
    first_parent: FirstParentOption = False,
    blobless: BloblessOption = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the PRs to FILE.jsonl, FILE.csv or FILE.parquet.")
    ] = None,
    max_files: MaxFilesOption = 50,
    max_lines: MaxLinesOption = 3000,
    api_url: Annotated[
        str, typer.Option(envvar="GITHUB_API_URL", help="GitHub API (Enterprise: HOST/api/v3).")
    ] = DEFAULT_API_URL,
    token_file: TokenFileOption = None,
) -> None:
    """List every merged PR a backfill would mine, and the extractor's verdict (a dry run)."""
    check_output(out)
    selection = mining_selection(
        source, repo, prs, since, until, limit, branch, first_parent, blobless
    )
    request = BackfillRequest(
        **selection,
        out=Path("."),  # unused: a preview reads no dataset and no cursor
        max_files=max_files,
        max_changed_lines=max_lines,
        api_url=api_url,
        token_file=token_file,
    )
    found = preview(request)
    if out is None:
        print_rows(found)
    else:
        write_preview(found.rows, out)
    print_summary(found, out)
    if found.not_found:
        from pipeline.cli.main import exit_partial  # the CLI's one rule for exit code 4

        exit_partial(found.not_found, "listed")


def print_rows(found: Preview) -> None:
    """One tab-separated line per PR (a header first), for people and for ``cut``/``awk``."""
    lines = ["number\tmerge_kind\tbase\tfix\thead\tmerged_at\toutcome\treason"]
    lines += [
        f"{row.number}\t{row.merge_kind.value}\t{row.base_commit[:12]}\t{row.fix_commit[:12]}\t"
        f"{row.head_commit[:12]}\t{row.merged_at:%Y-%m-%dT%H:%M:%SZ}\t{row.outcome}\t{row.reason}"
        for row in found.rows
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def print_summary(found: Preview, out: Path | None) -> None:
    """Print the preview's summary line, and where its rows were written."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in found.merge_kinds().most_common())
    outcomes = ", ".join(f"{outcome} {n}" for outcome, n in found.outcomes().most_common())
    where = f"; written to {out}" if out is not None else ""
    console.print(
        f"{found.repo}: {len(found.rows)} merged PRs found in {found.wall_time_s:.1f} s "
        f"({kinds or 'none'}); {outcomes or 'no candidates'}{where}",
        highlight=False,
        soft_wrap=True,
    )
    for number, why in sorted(found.not_found.items()):
        console.print(f"  #{number}: not found, {why}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``taskforge mine`` to ``app``."""
    app.command()(mine)
