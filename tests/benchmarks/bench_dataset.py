"""Benchmark: write and read 100,000 synthetic tasks; print write time, size on disk, stats time.

Run with ``make bench`` (or ``pytest tests/benchmarks -s``). It prints figures and never fails
on timing; the target for ``stats`` is under a second on 100,000 tasks. Tasks are written in
batches of ``BATCH`` (each batch makes a verified and a rejected shard, as a backfill does),
then compacted, and ``stats`` is timed on both layouts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from pipeline.core.records import Outcome, Task
from pipeline.dataset.browse import dataset_stats
from pipeline.dataset.card import finalize
from pipeline.dataset.compact import compact
from pipeline.dataset.shards import DatasetLayout, load_table, write_tasks
from tests.pipeline.factories import make_task

TASKS = 100_000
BATCH = 1_000
REPOS = [f"org{n}/project{n}" for n in range(20)]
REJECTIONS = [o for o in Outcome if o is not Outcome.VERIFIED]
WORDS = [
    "def",
    "class",
    "return",
    "value",
    "self",
    "test",
    "assert",
    "import",
    "from",
    "None",
    "True",
    "False",
    "if",
    "else",
]
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = action()
    print(f"  {label:<44} {time.perf_counter() - started:8.2f} s")
    return result


def synthetic_tasks(count: int, seed: int = 6) -> list[Task]:
    """Tasks shaped like real ones: patches of a few KB, 1-40 FAIL_TO_PASS, 0-60 PASS_TO_PASS."""
    rng = random.Random(seed)
    template = make_task(0)
    tasks = []
    for number in range(count):
        repo = rng.choice(REPOS)
        lines = [f"+    {' '.join(rng.choices(WORDS, k=8))}" for _ in range(rng.randint(20, 80))]
        f2p = [f"tests/test_m{number}.py::test_{n}" for n in range(1 + int(rng.expovariate(0.3)))]
        p2p = [f"tests/test_m{number}.py::test_ok_{n}" for n in range(rng.randint(0, 60))]
        outcome = Outcome.VERIFIED if rng.random() < 0.7 else rng.choice(REJECTIONS)
        tasks.append(
            template.model_copy(
                update={
                    "instance_id": f"{repo.replace('/', '__')}-{number}",
                    "repo": repo,
                    "pull_number": number,
                    "patch": "diff --git a/m.py b/m.py\n" + "\n".join(lines) + "\n",
                    "FAIL_TO_PASS": f2p[:40],
                    "PASS_TO_PASS": p2p,
                    "outcome": outcome,
                }
            )
        )
    return tasks


def size_on_disk(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_dataset_benchmark(tmp_path: Path, figures: dict[str, Any]) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    print(f"\ndataset benchmark: {TASKS:,} synthetic tasks, {len(REPOS)} repositories")
    tasks = timed("build the Task records", lambda: synthetic_tasks(TASKS))

    def write_all() -> None:
        for start in range(0, TASKS, BATCH):
            write_tasks(layout, tasks[start : start + BATCH])

    started = time.perf_counter()
    timed(f"write in batches of {BATCH:,} (with manifest)", write_all)
    figures["dataset_write_s"] = round(time.perf_counter() - started, 2)
    timed("finalize (manifest and card)", lambda: finalize(layout))
    print(f"  {'shards':<44} {len(layout.shards()):8d}")
    print(f"  {'size on disk':<44} {size_on_disk(layout.root) / 1e6:8.1f} MB")
    started = time.perf_counter()
    stats = timed("stats", lambda: dataset_stats(layout))
    figures["dataset_stats_s"] = round(time.perf_counter() - started, 3)
    figures["dataset_mb"] = round(size_on_disk(layout.root) / 1e6, 1)
    assert stats.verified + stats.rejected == TASKS
    assert stats.warnings == []
    timed("write 25 more tasks (a backfill's batch)", lambda: write_tasks(layout, tasks[:25]))
    timed("read every column, newest row per task", lambda: load_table(layout))
    glob = str(layout.verified_dir / "*.parquet")
    timed("polars: read the verified tasks", lambda: pl.read_parquet(glob))
    report = timed("compact", lambda: compact(layout))
    print(f"  {'shards after compact':<44} {report.shards_after:8d}")
    print(f"  {'size on disk after compact':<44} {size_on_disk(layout.root) / 1e6:8.1f} MB")
    after = timed("stats after compact", lambda: dataset_stats(layout))
    assert (after.verified, after.rejected) == (stats.verified, stats.rejected)
