"""A dry run of a backfill: every merged PR it would select, and what the extractor makes of it.

``preview`` opens the source as a backfill does (a clone, a bare mirror, a URL mirrored into
the cache, or ``OWNER/NAME`` through GitHub's API), selects the PRs with the same rules
(``pipeline.backfill.steps.select_pulls``; a GitHub source's cursor is ignored, there is no
dataset) and splits each change (``extractors.candidates.build_candidates``). Nothing else
runs: no Docker, no Prefect, no linked-issue lookup. Each PR becomes a ``PreviewRow``: its
number, merge kind, base, fix and head commits, merge time, and either ``candidate`` (it would
go on to validation) or the extractor's outcome with its reason.

Rows are written as JSON lines, CSV or Parquet (by the file's suffix), all through one polars
frame so the three hold the same columns and types.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import polars as pl

from extractors.candidates import SizeLimits, build_candidates
from extractors.git_history import MergedPull
from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.steps import open_repository, select_pulls
from pipeline.core.errors import UserInputError
from pipeline.core.records import MergeKind, Task

FORMATS = (".jsonl", ".csv", ".parquet")
CANDIDATE = "candidate"  # the outcome column of a PR that would reach validation


class PreviewRow(BaseModel):
    """One merged PR as a backfill would see it before validation."""

    model_config = ConfigDict(frozen=True)

    number: int
    merge_kind: MergeKind
    base_commit: str
    fix_commit: str
    head_commit: str
    merged_at: datetime
    outcome: str  # CANDIDATE, or the extractor's Outcome (no_test_change, docs_only, ...)
    reason: str  # the outcome's detail; empty for a candidate

    @classmethod
    def of(cls, pull: MergedPull, task: Task) -> PreviewRow:
        """The row of ``pull`` and the extractor's verdict on its candidate."""
        return cls(
            number=pull.number,
            merge_kind=pull.kind,
            base_commit=pull.base_commit,
            fix_commit=pull.fix_commit,
            head_commit=pull.head_commit,
            merged_at=pull.merged_at,
            outcome=task.outcome.value if task.outcome is not None else CANDIDATE,
            reason=task.outcome_detail if task.decided else "",
        )


@dataclass(frozen=True)
class Preview:
    """What a backfill of ``repo`` would mine, oldest merge first."""

    repo: str
    rows: list[PreviewRow]
    not_found: dict[int, str] = field(default_factory=dict)  # listed PR -> why not
    wall_time_s: float = 0.0

    def merge_kinds(self) -> Counter[str]:
        """How many previewed PRs reached the branch each way."""
        return Counter(row.merge_kind.value for row in self.rows)

    def outcomes(self) -> Counter[str]:
        """How many previewed candidates the extractor keeps or drops, by outcome."""
        return Counter(row.outcome for row in self.rows)


def check_output(path: Path | None) -> None:
    """Before any work: ``path`` has a known suffix and is not a folder."""
    if path is None:
        return
    if path.suffix not in FORMATS:
        raise UserInputError(
            f"--out {path}: the file's suffix says the format, one of {', '.join(FORMATS)}"
        )
    if path.is_dir():
        raise UserInputError(f"--out {path} is a folder; give a file name")


def preview(request: BackfillRequest) -> Preview:
    """Select and split the request's merged PRs; no Docker, no Prefect."""
    started = time.monotonic()
    repo = open_repository(request)
    selection = select_pulls(repo, request, resume=False)
    limits = SizeLimits(request.max_files, request.max_changed_lines)
    tasks = build_candidates(repo, request.repo, selection.pulls, limits)
    rows = [PreviewRow.of(p, t) for p, t in zip(selection.pulls, tasks, strict=True)]
    elapsed = round(time.monotonic() - started, 2)
    return Preview(request.repo, rows, selection.not_found, elapsed)


def preview_frame(rows: list[PreviewRow]) -> pl.DataFrame:
    """The preview's rows as one polars frame, for JSON lines, CSV and Parquet alike."""
    import polars as pl  # only to write rows: a backfill's no-op rerun does not need it

    schema = pl.Schema(
        {
            "number": pl.Int64(),
            "merge_kind": pl.String(),
            "base_commit": pl.String(),
            "fix_commit": pl.String(),
            "head_commit": pl.String(),
            "merged_at": pl.Datetime("us", "UTC"),
            "outcome": pl.String(),
            "reason": pl.String(),
        }
    )
    records = [{**row.model_dump(), "merge_kind": row.merge_kind.value} for row in rows]
    return pl.DataFrame(records, schema=schema)


def write_preview(rows: list[PreviewRow], path: Path) -> None:
    """The rows as ``path``'s suffix says, written whole or not at all (temp file, rename)."""
    check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = preview_frame(rows)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix == ".parquet":
            frame.write_parquet(partial)
        elif path.suffix == ".csv":
            frame.write_csv(partial)
        else:
            frame.write_ndjson(partial)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UserInputError(f"cannot write --out {path}: {error.strerror}") from None
