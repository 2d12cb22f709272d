"""``taskforge export --format swebench``: verified tasks that SWE-bench's own harness grades.

SWE-bench's instances (``SWEbenchInstance``, ``swebench/types.py``) are twelve ``str`` fields:
``FAIL_TO_PASS`` and ``PASS_TO_PASS`` JSON-encoded lists (the harness calls ``json.loads`` on
them) and ``created_at`` in GitHub's timestamp form (``2024-01-02T03:04:05Z``). Its 5.x harness
(``make_test_spec``) also needs, per instance, the ``image`` it runs (a string), the
``eval_script``, the ``log_parser`` (a key of its parser registry) and the ``eval_type``;
they are written here too (``validators.eval_script``), so ``python -m
swebench.harness.run_evaluation -d DIR/test.jsonl`` (or ``-d DIR -s test``) grades the
export with no code of taskforge. taskforge's own shards keep real lists and timestamps; only
this export encodes them.

``image`` is the task's instance image (``--instance-images``), by digest where it was pushed
(``--registry``), else by its local tag. A verified task is left out, and counted with the
reason, when it has no instance image or when no SWE-bench log parser reads its test ids whole.

Written to ``DIR/test.jsonl`` and ``DIR/test.parquet`` (SWE-bench's split name), each
atomically; newest row per instance id, in the order they were written. A shard that cannot be
trusted (unreadable, of another schema version, or changed since the manifest listed it) stops
the export, naming it.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.errors import UserInputError
from pipeline.core.records import Task
from pipeline.dataset.manifest import verify_shards
from pipeline.dataset.shards import read_tasks
from pipeline.dataset.storage import DatasetLayout, replace_atomically
from validators.eval_script import END, START, eval_script, log_parser_for


class ExportFormat(enum.StrEnum):
    """The formats ``taskforge export`` writes."""

    SWEBENCH = "swebench"


# SWEbenchInstance's fields, in its order, then what the 5.x harness needs; all strings
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
HARNESS_FIELDS = ["image", "eval_script", "log_parser", "eval_type"]
SWEBENCH_SCHEMA = pa.schema(
    [pa.field(n, pa.string(), nullable=False) for n in SWEBENCH_FIELDS + HARNESS_FIELDS]
)
GITHUB_TIME = "%Y-%m-%dT%H:%M:%SZ"
SPLIT = "test"  # the split SWE-bench's loader asks for
EVAL_TYPE = "pass_and_fail"  # FAIL_TO_PASS must pass and PASS_TO_PASS keep passing
NO_INSTANCE_IMAGE = "no instance image (backfill with --instance-images)"


@dataclass
class SwebenchExport:
    """The exported instances, and the verified tasks left out, by reason."""

    instances: list[dict[str, str]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)
    paths: list[Path] = field(default_factory=list)


def swebench_export(layout: DatasetLayout) -> SwebenchExport:
    """Every verified task as a SWE-bench instance, or counted among those left out."""
    layout.require()
    verify_shards(layout)  # a shard changed since the manifest listed it stops the export
    # the newest row per id: a task verified once and rejected by a later run is not verified
    export = SwebenchExport()
    for task in read_tasks(layout):
        if not task.verified:
            continue
        instance, reason = swebench_instance(task)
        if instance is None:
            export.left_out[reason] += 1
        else:
            export.instances.append(instance)
    return export


def swebench_instance(task: Task) -> tuple[dict[str, str] | None, str]:
    """One verified task as a SWE-bench instance, or None and why it cannot be one."""
    if task.instance_image is None:
        return None, NO_INSTANCE_IMAGE
    parser, reason = log_parser_for(task)
    if parser is None:
        return None, reason
    if START in task.test_patch or END in task.test_patch:
        return None, "the test patch holds the harness's output markers"
    image = task.instance_image.pull_ref or task.instance_image.tag
    return {
        "repo": task.repo,
        "instance_id": task.instance_id,
        "base_commit": task.base_commit,
        "patch": task.patch,
        "test_patch": task.test_patch,
        "problem_statement": task.problem_statement,
        "hints_text": task.hints_text,
        "created_at": task.created_at.astimezone(UTC).strftime(GITHUB_TIME),
        "version": task.version,
        "FAIL_TO_PASS": json.dumps(task.FAIL_TO_PASS),
        "PASS_TO_PASS": json.dumps(task.PASS_TO_PASS),
        "environment_setup_commit": task.environment_setup_commit,
        "image": image,
        "eval_script": eval_script(task, parser),
        "log_parser": parser.value,
        "eval_type": EVAL_TYPE,
    }, ""


def export_swebench(layout: DatasetLayout, target: Path) -> SwebenchExport:
    """Write the SWE-bench files into ``target``; returns what was written and left out."""
    if target.exists() and not target.is_dir():
        raise UserInputError(f"--to {target} is a file; give a folder path")
    export = swebench_export(layout)
    target.mkdir(parents=True, exist_ok=True)
    jsonl, parquet = target / f"{SPLIT}.jsonl", target / f"{SPLIT}.parquet"
    rows = export.instances
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    replace_atomically(jsonl, lambda handle: handle.write(lines.encode()))
    table = pa.Table.from_pylist(rows, schema=SWEBENCH_SCHEMA)
    replace_atomically(parquet, lambda handle: pq.write_table(table, handle, compression="zstd"))
    export.paths = [jsonl, parquet]
    return export
