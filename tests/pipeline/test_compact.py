"""Compaction: one row per instance id, and no lost or stale row whichever step it dies at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import pipeline.dataset.compact
import pipeline.dataset.shards
from pipeline.core.records import Outcome, Task
from pipeline.dataset.compact import compact
from pipeline.dataset.manifest import load_manifest, manifest_problems
from pipeline.dataset.shards import DatasetLayout, read_tasks, write_tasks
from tests.pipeline.factories import make_task


class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    written = DatasetLayout(tmp_path / "out", tmp_path / "work")
    written.prepare()
    write_tasks(written, [make_task(1), make_task(2), make_task(3), make_task(4, Outcome.TIMEOUT)])
    write_tasks(written, [make_task(4), make_task(2, Outcome.FIX_BREAKS_TESTS)])
    write_tasks(written, [make_task(5), make_task(6, Outcome.DOCS_ONLY)])
    return written


def newest(layout: DatasetLayout[Path]) -> dict[str, Task]:
    return {t.instance_id: t for t in read_tasks(layout)}


def assert_consistent(layout: DatasetLayout[Path], expected: dict[str, Task]) -> None:
    """What a reader that keeps the newest row per instance id must see at every moment."""
    assert newest(layout) == expected
    for shard in layout.shards():
        pq.read_table(shard)  # every visible shard is whole
    missing = [p for p in manifest_problems(layout) if "which does not exist" in p]
    assert missing == []


def test_compact_keeps_the_newest_row_of_each_task(layout: DatasetLayout[Path]) -> None:
    expected = newest(layout)
    old = layout.shards()
    report = compact(layout)
    assert (report.rows_before, report.rows_after) == (8, 6)
    assert (report.shards_before, report.shards_after) == (6, 2)
    assert not any(shard.exists() for shard in old)
    assert newest(layout) == expected
    outcomes = {i: t.outcome for i, t in expected.items()}
    assert outcomes["o__n-2"] is Outcome.FIX_BREAKS_TESTS and outcomes["o__n-4"] is Outcome.VERIFIED
    train, rejected = (pq.read_table(s) for s in layout.shards())
    assert sorted(train.column("instance_id").to_pylist()) == [
        "o__n-1",
        "o__n-3",
        "o__n-4",
        "o__n-5",
    ]
    assert sorted(rejected.column("instance_id").to_pylist()) == ["o__n-2", "o__n-6"]
    manifest = load_manifest(layout)
    assert manifest is not None
    assert [e.path for e in manifest.shards] == [layout.relative(s) for s in layout.shards()]
    assert manifest_problems(layout, verify_checksums=True) == []
    assert "2 rejected" in layout.card_path.read_text()


def test_compact_twice_changes_nothing(layout: DatasetLayout[Path]) -> None:
    compact(layout)
    shards = layout.shards()
    report = compact(layout)
    assert not report.changed
    assert layout.shards() == shards


def _crash_after_first_fresh_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.dataset.shards.write_shard

    def write_then_die(*args: Any) -> Path:
        real(*args)
        raise Crash

    monkeypatch.setattr(pipeline.dataset.compact, "write_shard", write_then_die)


def _crash_before_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    def die(*args: Any, **kwargs: Any) -> list[str]:
        raise Crash

    monkeypatch.setattr(pipeline.dataset.compact, "refresh_manifest", die)


def _crash_at_deletion(number: int) -> Any:
    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        real, deleted = Path.unlink, list[Path]()

        def unlink(path: Path, missing_ok: bool = False) -> None:
            if path.suffix == ".parquet" and not path.name.startswith("."):
                if len(deleted) == number:
                    raise Crash
                deleted.append(path)
            real(path, missing_ok=missing_ok)

        monkeypatch.setattr(Path, "unlink", unlink)

    return patch


@pytest.mark.parametrize(
    "crash",
    [
        _crash_after_first_fresh_shard,
        _crash_before_manifest,
        _crash_at_deletion(0),
        _crash_at_deletion(3),
    ],
    ids=["after-first-fresh-shard", "before-manifest", "before-deleting", "midway-deleting"],
)
def test_a_compaction_that_dies_loses_and_revives_nothing(
    layout: DatasetLayout[Path], monkeypatch: pytest.MonkeyPatch, crash: Any
) -> None:
    expected = newest(layout)
    with monkeypatch.context() as patched:
        crash(patched)
        with pytest.raises(Crash):
            compact(layout)
    assert_consistent(layout, expected)
    compact(layout)  # the next run finishes the job
    assert_consistent(layout, expected)
    assert len(layout.shards()) == 2
    assert manifest_problems(layout, verify_checksums=True) == []
