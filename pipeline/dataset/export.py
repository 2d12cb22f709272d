"""``taskforge export --format swebench``: verified tasks with SWE-bench's exact column types.

SWE-bench's harness reads instances typed as ``SWEbenchInstance`` (``swebench/harness/constants``,
later ``swebench/types.py``): twelve fields, every one a ``str``. ``FAIL_TO_PASS`` and
``PASS_TO_PASS`` are JSON-encoded lists (the harness calls ``json.loads`` on them) and
``created_at`` is a string in GitHub's timestamp form (``2024-01-02T03:04:05Z``, as SWE-bench's
collector copies it from the pull request); the dataset card of princeton-nlp/SWE-bench declares
the same twelve columns with ``dtype: string``. taskforge's own shards keep real lists and
timestamps; only this export encodes them.

Written to ``DIR/swebench.jsonl`` (``--dataset_name DIR/swebench.jsonl`` for the harness) and
``DIR/swebench.parquet``, each atomically. Only verified tasks are exported, newest row per
instance id, in the order they were written. A shard that cannot be trusted (unreadable, of
another schema version, or changed since the manifest listed it) stops the export, naming it.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.errors import UserInputError
from pipeline.core.records import Outcome
from pipeline.dataset.manifest import verify_shards
from pipeline.dataset.shards import load_table
from pipeline.dataset.storage import DatasetLayout, replace_atomically


class ExportFormat(enum.StrEnum):
    """The formats ``taskforge export`` writes."""

    SWEBENCH = "swebench"


# SWEbenchInstance's fields, in its order; every value is a string
SWEBENCH_FIELDS = [
    "repo",
    "instance_id",
    "base_commit",
    "patch",
    "test_patch",
    "problem_statement",
    "hints_text",
    "created_at",
    "version",
    "FAIL_TO_PASS",
    "PASS_TO_PASS",
    "environment_setup_commit",
]
SWEBENCH_SCHEMA = pa.schema([pa.field(n, pa.string(), nullable=False) for n in SWEBENCH_FIELDS])
GITHUB_TIME = "%Y-%m-%dT%H:%M:%SZ"


def swebench_rows(layout: DatasetLayout) -> list[dict[str, str]]:
    """Verified tasks as SWE-bench instances: twelve string fields each."""
    layout.require()
    verify_shards(layout)
    # both tables: a task verified once and rejected by a later run is no longer verified
    loaded = load_table(layout, [*SWEBENCH_FIELDS, "outcome"])
    return [
        swebench_instance(row)
        for row in loaded.table.to_pylist()
        if row["outcome"] == Outcome.VERIFIED.value
    ]


def swebench_instance(row: dict[str, Any]) -> dict[str, str]:
    """One shard row as a SWE-bench instance."""
    instance = {name: row[name] for name in SWEBENCH_FIELDS}
    instance["created_at"] = row["created_at"].astimezone(UTC).strftime(GITHUB_TIME)
    instance["FAIL_TO_PASS"] = json.dumps(row["FAIL_TO_PASS"])
    instance["PASS_TO_PASS"] = json.dumps(row["PASS_TO_PASS"])
    return instance


def export_swebench(layout: DatasetLayout, target: Path) -> list[Path]:
    """Write the SWE-bench files into ``target``; returns their paths."""
    if target.exists() and not target.is_dir():
        raise UserInputError(f"--to {target} is a file; give a folder path")
    rows = swebench_rows(layout)
    target.mkdir(parents=True, exist_ok=True)
    jsonl, parquet = target / "swebench.jsonl", target / "swebench.parquet"
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    replace_atomically(jsonl, lambda handle: handle.write(lines.encode()))
    table = pa.Table.from_pylist(rows, schema=SWEBENCH_SCHEMA)
    replace_atomically(parquet, lambda handle: pq.write_table(table, handle, compression="zstd"))
    return [jsonl, parquet]
