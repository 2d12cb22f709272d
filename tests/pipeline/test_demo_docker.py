"""`taskforge demo` end to end: real git history, real image, real containers, real Parquet."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from pipeline.core.records import Outcome
from pipeline.dataset.shards import DatasetLayout, load_table, read_tasks
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES
from tests.pipeline.demo_dataset import demo_dataset
from tests.taskforge_cli import run, verified_lists

pytestmark = pytest.mark.docker

EXPECTED_FAIL_TO_PASS = {
    1: [
        "tests/test_core.py::test_word_count_collapses_spaces",
        "tests/test_words.py::TestWordCount::test_counts[ lead-1]",
        "tests/test_words.py::TestWordCount::test_counts[a  b-2]",
    ],
    2: ["tests/test_core.py::test_title_case"],
    8: ["tests/test_truncate.py::test_truncate_ellipsis"],
    9: ["tests/test_slug.py::test_slugify_strips_whitespace"],
}
EXPECTED_PASS_TO_PASS = {
    1: [
        "tests/test_core.py::test_slugify_simple",
        "tests/test_core.py::test_truncate_short",
        "tests/test_core.py::test_word_count_simple",
        "tests/test_words.py::TestWordCount::test_counts[two words-2]",
    ],
    2: [
        "tests/test_core.py::test_slugify_simple",
        "tests/test_core.py::test_truncate_short",
        "tests/test_core.py::test_word_count_simple",
    ],
    8: ["tests/test_truncate.py::test_truncate_plain"],
    9: [],
}


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    return run("demo", "--out", "out", cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> tuple[Path, str]:
    demo = demo_dataset(tmp_path_factory)  # shared with the consumers' tests
    return demo.out, demo.stdout


def test_verified_tasks_are_exactly_the_designed_ones(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    verified = pl.read_parquet(out / "data" / "*.parquet").sort("pull_number")
    assert verified["outcome"].unique().to_list() == ["verified"]
    assert verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert verified_lists(out, "PASS_TO_PASS") == EXPECTED_PASS_TO_PASS
    assert verified["instance_id"].to_list() == [
        f"taskforge__tinytext-{n}" for n in sorted(EXPECTED_FAIL_TO_PASS)
    ]
    assert verified["image"].struct.field("tag").n_unique() == 1  # one image for the repo


def test_every_other_pull_is_rejected_for_its_designed_reason(
    demo_run: tuple[Path, str],
) -> None:
    out, stdout = demo_run
    rejected = pl.read_parquet(out / "rejected" / "*.parquet")
    found = dict(zip(rejected["pull_number"], rejected["outcome"], strict=True))
    designed = {n: o.value for n, o in DESIGNED_OUTCOMES.items() if o.value != "verified"}
    assert found == designed
    assert "fix_breaks_tests" in stdout and "verified" in stdout
    assert str(out.resolve()) in stdout.replace("\n", "")


def test_rerun_skips_finished_work(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    shards = sorted(p.name for p in out.rglob("*.parquet"))
    result = run_demo(out.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "already in the output" in result.stdout
    assert sorted(p.name for p in out.rglob("*.parquet")) == shards


def test_retry_runs_again_only_the_outcomes_it_names(
    demo_run: tuple[Path, str], tmp_path: Path
) -> None:
    """A copy of the demo, its fix_breaks_tests PR run again (not replayed from the work
    folder's records): one new rejected shard, that PR's row twice, the newest rows as before."""
    folder = tmp_path / "copy"
    shutil.copytree(demo_run[0].parent, folder, symlinks=True)
    (work,) = (folder / "data" / "cache" / "work").iterdir()
    layout = DatasetLayout(folder / "out", work)
    newest = {t.pull_number: t.outcome for t in read_tasks(layout)}
    shards = [layout.relative(s) for s in layout.shards()]
    recorded = {p: p.stat().st_mtime_ns for p in layout.results_dir.iterdir()}
    result = run(
        *("backfill", "data/cache/sample-repo", "--repo", "taskforge/tinytext", "--out", "out"),
        *("--work-dir", str(work), "--retry", "fix_breaks_tests"),
        cwd=folder,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    again = [n for n, o in newest.items() if o is Outcome.FIX_BREAKS_TESTS]
    assert len(again) == 1
    skipped = rf"\b{len(newest) - 1}\W+already in the output"
    assert re.search(skipped, result.stdout), result.stdout
    assert {t.pull_number: t.outcome for t in read_tasks(layout)} == newest
    added = [layout.relative(s) for s in layout.shards() if layout.relative(s) not in shards]
    assert len(added) == 1 and added[0].startswith("rejected/")
    rows = load_table(layout, ["pull_number"], keep_duplicates=True).table
    counts = Counter(rows.column("pull_number").to_pylist())
    assert counts == {n: 2 if n in again else 1 for n in newest}
    # run again, not replayed: its validation's record is written anew (a replay reads it)
    rewritten = [p for p, t in recorded.items() if p.stat().st_mtime_ns != t]
    assert len(rewritten) == 1, sorted(p.name for p in rewritten)


def test_the_dataset_folder_holds_only_what_is_published(
    demo_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    out, stdout = demo_run
    layout = demo_dataset(tmp_path_factory).layout  # its work folder: the default one
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(["README.md", *(layout.relative(s) for s in layout.shards())])
    assert layout.manifest_path.is_file() and any(layout.results_dir.iterdir())
    assert f"logs: {layout.logs_dir.resolve()}" in stdout.replace("\n", "")
