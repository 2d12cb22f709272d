"""Benchmark decontamination: the instances of an evaluation set, and which task is one of them.

``load_benchmark`` reads SWE-bench-format rows (``instance_id``, ``repo``, ``base_commit``,
optionally ``patch``; other columns are ignored) from a ``.jsonl``, ``.json`` (a list of
rows), ``.csv`` or ``.parquet`` file, or from a folder of Parquet files (a Hugging Face
dataset's folder, or a taskforge dataset, whose rejected table is left out: it is no
evaluation set). It is parsed once, at the edge: a missing file, an unknown suffix, a row
without a field or an instance id that is not ``owner__name-NUMBER`` is a ``UserInputError``
of one line naming the file (and the row).

A task is the same as an instance (``benchmark_match``) when it is the same pull request
(its repository, case-insensitively, and the number of the instance id) or the same patch
(the ``git patch-id --stable`` of the instance's gold patch equals the task's ``patch_id``).
What happens then is the request's ``BenchmarkAction``: flag (the default; the task keeps its
verdict and carries ``benchmark_match``) or drop (rejected as ``in_benchmark``, before any
container runs).
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.core.errors import UserInputError
from pipeline.core.patch_ids import patch_ids
from pipeline.core.records import BenchmarkMatch, BenchmarkMatchKind, Task
from pipeline.dataset.storage import DatasetTable

INSTANCE_ID = re.compile(r"^[\w.-]+__[\w.-]+-(\d+)$")
SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


class BenchmarkAction(enum.StrEnum):
    """What a backfill does with a task that is a benchmark instance."""

    FLAG = "flag"
    DROP = "drop"

    @classmethod
    def parse(cls, text: str) -> BenchmarkAction:
        """The action ``text`` names, or a ``UserInputError`` naming the option."""
        if text not in set(cls):
            raise UserInputError(f"--benchmark-action takes flag or drop, not {text!r}")
        return cls(text)


class BenchmarkInstance(BaseModel):
    """One row of a benchmark: SWE-bench's columns that decontamination reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    instance_id: str
    repo: str
    base_commit: str
    patch: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's instances, by pull request and by patch id."""

    source: str
    by_pull: dict[tuple[str, int], str]  # (owner/name lowercased, PR number) -> instance id
    by_patch: dict[str, str]  # patch id of the gold patch -> instance id

    def __len__(self) -> int:
        return len(set(self.by_pull.values()))

    def match(self, task: Task, patch_id: str) -> BenchmarkMatch | None:
        """The instance ``task`` (whose fix has ``patch_id``) is the same as: the same PR
        first, else the same patch."""
        found = self.by_pull.get((task.repo.lower(), task.pull_number))
        if found is not None:
            return BenchmarkMatch(instance_id=found, by=BenchmarkMatchKind.SAME_PR)
        found = self.by_patch.get(patch_id) if patch_id else None
        if found is not None:
            return BenchmarkMatch(instance_id=found, by=BenchmarkMatchKind.SAME_PATCH)
        return None


def load_benchmark(path: Path) -> Benchmark:
    """The benchmark at ``path`` (a file or a folder of Parquet files); bad input raises a
    one-line ``UserInputError``."""
    instances = list(_instances(path))
    if not instances:
        raise UserInputError(f"--benchmark {path}: no benchmark instances in it")
    by_pull: dict[tuple[str, int], str] = {}
    for instance in instances:
        number = INSTANCE_ID.match(instance.instance_id)
        if number is None:
            raise UserInputError(
                f"--benchmark {path}: instance id {instance.instance_id!r} is not "
                "owner__name-NUMBER"
            )
        by_pull[(instance.repo.lower(), int(number.group(1)))] = instance.instance_id
    with_patch = [i for i in instances if i.patch]
    ids = patch_ids([i.patch for i in with_patch])
    by_patch = {pid: i.instance_id for pid, i in zip(ids, with_patch, strict=True) if pid}
    return Benchmark(str(path), by_pull, by_patch)


@functools.lru_cache(maxsize=4)
def cached_benchmark(path: Path) -> Benchmark:
    """``load_benchmark``, once per process and path: a run screens before every write."""
    return load_benchmark(path)


def _instances(path: Path) -> Iterator[BenchmarkInstance]:
    if not path.exists():
        raise UserInputError(f"--benchmark {path}: no such file or folder")
    rows = _rows(path)
    for number, row in enumerate(rows, start=1):
        try:
            yield BenchmarkInstance.model_validate(row)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "row"
            raise UserInputError(
                f"--benchmark {path}: row {number}: {where}: {first['msg'].lower()}"
            ) from None


def _rows(path: Path) -> list[Any]:
    """The rows of a benchmark file or folder, as the format gives them."""
    try:
        if path.is_dir():
            return [row for part in _parquet_files(path) for row in _parquet_rows(part)]
        if path.suffix == ".parquet":
            return _parquet_rows(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix == ".json":
            rows = json.loads(text)
            if not isinstance(rows, list):
                raise UserInputError(f"--benchmark {path}: a .json benchmark is a list of rows")
            return rows
        if path.suffix == ".csv":
            return list(csv.DictReader(io.StringIO(text, newline="")))  # quoted newlines
    except (OSError, UnicodeDecodeError, ValueError) as error:  # JSONDecodeError, ArrowInvalid
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserInputError(f"--benchmark {path}: cannot be read ({detail})") from None
    raise UserInputError(
        f"--benchmark {path}: not a benchmark file (one of {', '.join(SUFFIXES)}, or a folder "
        "of Parquet files)"
    )


def _parquet_files(folder: Path) -> list[Path]:
    rejected = f"{DatasetTable.REJECTED.value}-"
    found = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith(rejected))
    if not found:
        raise UserInputError(f"--benchmark {folder}: a folder without Parquet files")
    return found


def _parquet_rows(path: Path) -> list[Any]:
    schema = pq.read_schema(path)
    columns = [c for c in BenchmarkInstance.model_fields if c in schema.names]
    rows: list[Any] = pq.read_table(path, columns=columns).to_pylist()
    return rows
