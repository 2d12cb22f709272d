"""The yield funnel of a backfill as Prefect artifacts: a table and a markdown summary."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pipeline.backfill.request import BackfillSummary
from pipeline.core.records import OUTCOME_REASONS


def funnel_rows(summary: BackfillSummary) -> list[dict[str, Any]]:
    """The yield funnel of ``summary`` as the rows of a table artifact."""
    rows: list[dict[str, Any]] = [
        {"stage": "merged PRs selected", "count": summary.mined},
        {"stage": "already in the output", "count": summary.skipped},
        *(
            {"stage": f"listed PR #{number} not found", "count": 1, "why": why}
            for number, why in sorted(summary.not_found.items())
        ),
        {"stage": "verified", "count": summary.verified},
    ]
    for reason, count in sorted(summary.rejected.items(), key=lambda item: -item[1]):
        rows.append(
            {
                "stage": f"rejected: {reason}",
                "count": count,
                "why": OUTCOME_REASONS[reason],
            }
        )
    rows += [
        {"stage": "infrastructure failures (not written)", "count": summary.infrastructure},
        {"stage": "environments working", "count": summary.environments},
        {"stage": "environments failed", "count": summary.environments_failed},
        {"stage": "images built", "count": summary.images_built},
    ]
    return rows


def publish_artifacts(summary: BackfillSummary) -> None:
    """The yield funnel as a table artifact and a markdown summary of the flow run."""
    key = re.sub(r"[^a-z0-9-]+", "-", summary.repo.lower())
    create_table_artifact(
        table=funnel_rows(summary),
        key=f"yield-{key}",
        description=f"Yield funnel of {summary.repo}",
    )
    not_found = "".join(f"- PR #{n} not found: {why}\n" for n, why in summary.not_found.items())
    markdown = (
        f"# {summary.repo}\n\n"
        f"- **{summary.verified}** verified of {summary.mined} merged PRs selected "
        f"({summary.skipped} already in the output)\n"
        f"- rejected: {sum(summary.rejected.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(summary.rejected.items())) or 'none'})\n"
        f"- infrastructure failures left for a rerun: {summary.infrastructure}\n"
        f"{not_found}"
        f"- images built: {summary.images_built}; wall time {summary.wall_time_s:.1f} s\n"
        f"- output: `{summary.out}`\n"
    )
    create_markdown_artifact(
        markdown=markdown, key=f"summary-{key}", description=f"Backfill summary of {summary.repo}"
    )
