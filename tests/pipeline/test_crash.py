"""Real crashes: a writer or a compaction SIGKILLed in a subprocess leaves readers a whole dataset.

The writer writes one shard big enough to take a while and is killed as soon as its temporary
file appears; compaction is killed after a range of delays. After each kill: every visible
``*.parquet`` reads, the manifest lists only whole files with their checksums, and the newest
row per instance id is what it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from pipeline.core.records import Outcome
from pipeline.dataset.compact import compact
from pipeline.dataset.manifest import manifest_problems
from pipeline.dataset.shards import DatasetLayout, load_table, read_tasks, write_tasks
from tests.pipeline.factories import make_task

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import os, sys
from pathlib import Path
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import make_task

layout = DatasetLayout(Path(sys.argv[1]), Path(sys.argv[2]))
big = [make_task(n, patch=os.urandom(6000).hex()) for n in range(100, 20100)]
print("ready", flush=True)
write_tasks(layout, big)
print("done", flush=True)
"""

COMPACTOR = """
import sys
from pathlib import Path
from pipeline.dataset.compact import compact
from pipeline.dataset.shards import DatasetLayout

layout = DatasetLayout(Path(sys.argv[1]), Path(sys.argv[2]))
print("ready", flush=True)
compact(layout)
print("done", flush=True)
"""


def start(script: str, layout: DatasetLayout[Path]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(layout.root), str(layout.work)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def kill(process: subprocess.Popen[str]) -> str:
    """SIGKILL ``process`` unless it has finished; its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    return output


def assert_whole(layout: DatasetLayout[Path]) -> None:
    for shard in layout.shards():
        pq.read_table(shard)
    pl.read_parquet(layout.verified_dir / "*.parquet")  # as a consumer globs it
    assert manifest_problems(layout, verify_checksums=True) in (
        [],
        # killed after the rename, before the manifest: listed by the next write
        [p for p in manifest_problems(layout) if "is not in" in p],
    )


@pytest.mark.slow
def test_a_writer_killed_mid_shard_leaves_no_partial_shard(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    write_tasks(layout, [make_task(1), make_task(2, Outcome.TIMEOUT)])
    before = layout.shards()
    writer = start(WRITER, layout)
    deadline = time.monotonic() + 120
    while not list(layout.verified_dir.glob(".train-*.tmp")):
        assert writer.poll() is None and time.monotonic() < deadline, "no temporary file seen"
        time.sleep(0.002)
    output = kill(writer)
    assert writer.returncode == -signal.SIGKILL
    assert "done" not in output, "the writer finished before it was killed; write more"
    (leftover,) = layout.verified_dir.glob(".train-*.tmp")  # hidden, never a *.parquet
    assert layout.shards() == before
    assert_whole(layout)
    assert {t.instance_id for t in read_tasks(layout)} == {"o__n-1", "o__n-2"}
    write_tasks(layout, [make_task(3)])
    assert not leftover.exists()
    assert manifest_problems(layout, verify_checksums=True) == []


@pytest.mark.slow
def test_a_compaction_killed_at_any_moment_loses_nothing(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    base = make_task(0)
    for first in range(0, 12_000, 2_000):  # overlapping batches: most tasks are written twice
        batch = [
            base.revised(instance_id=f"o__n-{n}", patch=os.urandom(3000).hex())
            for n in range(first, first + 4_000)
        ]
        write_tasks(layout, [*batch, make_task(first, Outcome.TIMEOUT)])
    expected = _newest_outcomes(layout)
    interrupted = 0
    # compaction takes about 2 s here, most of it reading; test_compact.py stops it at each step
    for delay in (0.0, 0.3, 0.8, 1.2, 1.4, 1.6, 1.8, 2.5):
        compactor = start(COMPACTOR, layout)
        time.sleep(delay)
        interrupted += "done" not in kill(compactor)
        assert_whole(layout)
        assert _newest_outcomes(layout) == expected, f"after a kill at {delay} s"
    assert interrupted, "no kill landed before compaction finished"
    compact(layout)
    assert _newest_outcomes(layout) == expected
    assert manifest_problems(layout, verify_checksums=True) == []
    assert not [p for p in layout.root.rglob(".*.tmp")]


def _newest_outcomes(layout: DatasetLayout[Path]) -> dict[str, str]:
    table = load_table(layout, ["outcome", "patch"]).table
    rows = zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)
    return {instance_id: f"{outcome} {len(patch)}" for instance_id, outcome, patch in rows}


def test_killed_writers_do_not_leave_the_lock_held(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from pipeline.dataset.storage import DatasetLayout, dataset_lock\n"
            "with dataset_lock(DatasetLayout(Path(sys.argv[1]), Path(sys.argv[2]))):\n"
            "    print('ready', flush=True); time.sleep(600)",
            str(layout.root),
            str(layout.work),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    kill(holder)
    assert holder.returncode == -signal.SIGKILL
    write_tasks(layout, [make_task(1)])  # would block forever if the lock outlived its holder
    assert [t.instance_id for t in read_tasks(layout)] == ["o__n-1"]
