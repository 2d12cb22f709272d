"""Benchmark: the cost of writing a shard to object storage (moto's S3 server) against a folder.

``SHARDS`` shards of ``TASKS_PER_SHARD`` verified tasks each are written the way a backfill
writes them (``write_tasks``: under the lock, a new shard name, the shard, the manifest
refreshed), once to a local folder and once to ``s3://`` on moto's server over loopback HTTP;
printed: milliseconds per shard for each and their ratio, and the time to read everything back.
moto keeps objects in memory and answers from this machine, so the figures are the client's
own cost (requests, hashing, buffering); a real endpoint adds its round trips. It prints
figures and never fails on timing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.records import Outcome, Task
from pipeline.dataset.filesystems import filesystem_of
from pipeline.dataset.location import dataset_location
from pipeline.dataset.shards import DatasetLayout, load_table, write_tasks
from tests.benchmarks.bench_dataset import synthetic_tasks
from tests.services import S3Service

SHARDS = 40
TASKS_PER_SHARD = 250


def write_shards(layout: DatasetLayout, batches: list[list[Task]]) -> float:
    """Milliseconds per shard, writing each batch as one shard."""
    started = time.perf_counter()
    for batch in batches:
        write_tasks(layout, batch)
    return (time.perf_counter() - started) * 1000 / len(batches)


def test_object_storage_benchmark(
    tmp_path: Path,
    s3_server: S3Service,
    monkeypatch: pytest.MonkeyPatch,
    figures: dict[str, Any],
) -> None:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    filesystem_of.cache_clear()
    s3_server.create_bucket("bench")
    every = synthetic_tasks(SHARDS * TASKS_PER_SHARD)
    tasks = [t.model_copy(update={"outcome": Outcome.VERIFIED}) for t in every]
    batches = [tasks[n : n + TASKS_PER_SHARD] for n in range(0, len(tasks), TASKS_PER_SHARD)]
    local = DatasetLayout(tmp_path / "out", tmp_path / "work-local")
    remote = DatasetLayout.of(dataset_location("s3://bench/out"), tmp_path / "work-s3")
    print(f"\nobject storage benchmark: {SHARDS} shards of {TASKS_PER_SHARD} tasks each")
    results = {}
    for label, layout in (("local folder", local), ("s3 (moto)", remote)):
        layout.prepare()
        per_shard = write_shards(layout, batches)
        size = sum(s.stat().st_size for s in layout.shards()) / len(layout.shards())
        started = time.perf_counter()
        rows = load_table(layout).table.num_rows
        read_s = time.perf_counter() - started
        assert rows == SHARDS * TASKS_PER_SHARD
        results[label] = per_shard
        print(
            f"  {label:<14} {per_shard:8.1f} ms per shard ({size / 1e3:,.0f} KB each); "
            f"reading all back {read_s:6.2f} s"
        )
    ratio = results["s3 (moto)"] / results["local folder"]
    print(f"  {'s3 / local':<14} {ratio:8.2f}")
    figures["shard_write_local_ms"] = round(results["local folder"], 1)
    figures["shard_write_s3_ms"] = round(results["s3 (moto)"], 1)
    figures["shard_write_s3_ratio"] = round(ratio, 2)
    filesystem_of.cache_clear()
