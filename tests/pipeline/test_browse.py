from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from pipeline.core.errors import BadShardError, UserInputError
from pipeline.core.languages import Language
from pipeline.core.records import Outcome
from pipeline.dataset.browse import (
    LanguageStats,
    dataset_stats,
    find_task,
    render_stats,
    render_task,
)
from pipeline.dataset.shards import (
    METADATA_KEY,
    DatasetLayout,
    load_table,
    tasks_table,
    write_shard,
    write_tasks,
)
from pipeline.dataset.storage import SCHEMA_VERSION, DatasetTable, dataset_lock
from tests.pipeline.factories import make_task


def node_ids(count: int) -> list[str]:
    return [f"tests/test_x.py::test_{n}" for n in range(count)]


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    written = DatasetLayout(tmp_path / "out", tmp_path / "work")
    written.prepare()
    write_tasks(
        written,
        [
            make_task(1, FAIL_TO_PASS=node_ids(1)),
            make_task(2, FAIL_TO_PASS=node_ids(3)),
            make_task(3, FAIL_TO_PASS=node_ids(30)),
            make_task(4, Outcome.TIMEOUT),
            make_task(5, Outcome.NO_FAIL_TO_PASS),
            make_task(6, Outcome.NO_FAIL_TO_PASS),
            make_task(1, repo="p/q", FAIL_TO_PASS=node_ids(7)),
        ],
    )
    write_tasks(written, [make_task(4, FAIL_TO_PASS=node_ids(2))])  # verified on a rerun
    return written


def go_ids(count: int) -> list[str]:
    return [f"example.com/g/o::TestX{n}" for n in range(count)]


@pytest.fixture
def two_languages(tmp_path: Path) -> DatasetLayout[Path]:
    """Python and Go: a Go repository, and one Go pull request in the Python repository."""
    written = DatasetLayout(tmp_path / "languages", tmp_path / "languages-work")
    written.prepare()
    go: dict[str, Any] = {"repo": "g/o", "language": Language.GO}
    write_tasks(
        written,
        [
            make_task(1, FAIL_TO_PASS=node_ids(1)),
            make_task(2, FAIL_TO_PASS=node_ids(4)),
            make_task(3, Outcome.TIMEOUT),
            make_task(4, language=Language.GO, FAIL_TO_PASS=go_ids(6)),
            make_task(1, **go, FAIL_TO_PASS=go_ids(2)),
            make_task(2, **go, FAIL_TO_PASS=go_ids(3)),
            make_task(3, **go, FAIL_TO_PASS=go_ids(9)),
            make_task(4, Outcome.UNSUPPORTED_LANGUAGE, **go),
            make_task(5, Outcome.UNSUPPORTED_LANGUAGE, **go),
            make_task(6, Outcome.TIMEOUT, **go),
            make_task(7, Outcome.NO_FAIL_TO_PASS, **go),
            make_task(8, Outcome.PATCH_DOES_NOT_APPLY, **go),
        ],
    )
    return written


def test_stats_per_language(
    two_languages: DatasetLayout[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    columns: list[object] = []

    def recording_load(*args: Any, **kwargs: Any) -> Any:
        columns.append(args[1])
        return load_table(*args, **kwargs)

    monkeypatch.setattr("pipeline.dataset.browse.load_table", recording_load)
    stats = dataset_stats(two_languages)
    figures = ["instance_id", "repo", "language", "outcome", "FAIL_TO_PASS"]
    screening = ["leaks", "similar_to", "benchmark_match"]
    assert columns == [[*figures, *screening, "strength", "uncovered_hunks", "strength_seconds"]]
    go_rejected = {
        "unsupported_language": 2,
        "no_fail_to_pass": 1,
        "patch_does_not_apply": 1,
        "timeout": 1,
    }
    assert stats.languages == [
        LanguageStats("python", 2, {"timeout": 1}, 2.5),
        LanguageStats("go", 4, go_rejected, 4.5),  # sizes 2, 3, 6, 9
    ]
    python, go = stats.languages
    assert list(go.rejected) == list(go_rejected)  # most frequent first, then by name
    assert (python.verified_share, go.verified_share) == (2 / 3, 4 / 9)
    assert (
        go.top_reasons()
        == "unsupported_language (2), no_fail_to_pass (1), patch_does_not_apply (1)"
    )
    assert [(r.repo, r.verified) for r in stats.repos] == [("g/o", 3), ("o/n", 3)]


def test_stats_render_per_language(two_languages: DatasetLayout[Path]) -> None:
    out = Console(record=True, width=150)
    render_stats(dataset_stats(two_languages), two_languages, out)
    text = out.export_text()
    assert "tasks per language" in text
    assert re.search(r"python\s+│\s+2\s+│\s+1\s+│\s+67%\s+│\s+2.5\s+│\s+timeout \(1\)\s+│", text)
    assert re.search(
        r"go\s+│\s+4\s+│\s+5\s+│\s+44%\s+│\s+4.5\s+│\s+unsupported_language \(2\), "
        r"no_fail_to_pass \(1\), patch_does_not_apply \(1\)\s+│",
        text,
    )
    assert text.index("tasks per language") < text.index("tasks per repository")


def test_stats_per_repository(layout: DatasetLayout[Path]) -> None:
    stats = dataset_stats(layout)
    assert stats.warnings == []
    on, pq_ = stats.repos
    assert (on.repo, on.verified, on.rejected) == ("o/n", 4, {"no_fail_to_pass": 2})
    assert on.fail_to_pass_sizes == {"1": 1, "2-5": 2, "6-20": 0, "21+": 1}
    assert (on.fail_to_pass_median, on.fail_to_pass_max) == (2.5, 30)
    assert (pq_.repo, pq_.verified, pq_.rejected) == ("p/q", 1, {})
    assert pq_.fail_to_pass_sizes == {"1": 0, "2-5": 0, "6-20": 1, "21+": 0}
    assert (stats.verified, stats.rejected, stats.shards) == (5, 2, 3)


def test_stats_render(layout: DatasetLayout[Path]) -> None:
    out = Console(record=True, width=150)
    render_stats(dataset_stats(layout), layout, out)
    text = out.export_text()
    assert f"{layout.root}: 2 repositories, 5 verified, 2 rejected (3 shards" in text
    assert re.search(r"o/n\s+│\s+4\s+│\s+2\s+│\s+67%", text)
    assert re.search(r"no_fail_to_pass \(no test fails before.*│\s+2", text)
    assert re.search(r"o/n\s+│\s+1\s+│\s+2\s+│\s+0\s+│\s+1\s+│\s+2.5\s+│\s+30", text)
    # one language: a table of one row, the median over both repositories' sizes 1, 2, 3, 7, 30
    languages = text[text.index("tasks per language") : text.index("tasks per repository")]
    (row,) = [line for line in languages.splitlines() if line.startswith("│")]  # no "go"
    assert re.search(r"python\s+│\s+5\s+│\s+2\s+│\s+71%\s+│\s+3\s+│\s+no_fail_to_pass \(2\)", row)


def test_stats_and_show_stop_at_a_shard_that_cannot_be_read(layout: DatasetLayout[Path]) -> None:
    good = layout.shards()[0]
    other = layout.verified_dir / "train-20000101T000000000000-old.parquet"
    pq.write_table(pq.read_table(good).replace_schema_metadata({METADATA_KEY: b"99"}), other)
    message = f"{other}: schema version 99, this taskforge reads version {SCHEMA_VERSION}"
    with pytest.raises(BadShardError, match=re.escape(message)):
        dataset_stats(layout)
    with pytest.raises(BadShardError, match=re.escape(message)):
        find_task(layout, "o__n-1")
    other.unlink()
    corrupt = layout.rejected_dir / "rejected-20000102T000000000000-cut.parquet"
    corrupt.write_bytes(good.read_bytes()[:100])
    with pytest.raises(BadShardError, match=re.escape(f"{corrupt}: not a readable Parquet file")):
        dataset_stats(layout)


def test_stats_and_show_stop_at_a_shard_that_changed_since_it_was_listed(
    layout: DatasetLayout[Path],
) -> None:
    shard = layout.shards()[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: only the sha256 tells
    shard.write_bytes(bytes(data))
    message = f"{shard}: does not match its sha256 in {layout.manifest_path}, so it changed"
    with pytest.raises(BadShardError, match=re.escape(message)):
        dataset_stats(layout)
    with pytest.raises(BadShardError, match=re.escape(message)):
        find_task(layout, "o__n-4")
    assert dataset_stats(layout, skip_bad=True).verified == 5  # the card: sizes only


def test_the_card_reports_the_rest_when_files_are_bad(layout: DatasetLayout[Path]) -> None:
    good = layout.shards()[0]
    other = layout.verified_dir / "train-20000101T000000000000-old.parquet"
    pq.write_table(pq.read_table(good).replace_schema_metadata({METADATA_KEY: b"99"}), other)
    corrupt = layout.rejected_dir / "rejected-20000102T000000000000-cut.parquet"
    corrupt.write_bytes(good.read_bytes()[:100])
    layout.manifest_path.unlink()
    stats = dataset_stats(layout, skip_bad=True)
    assert stats.verified == 5 and stats.rejected == 2
    assert len(stats.warnings) == 3
    version, cut, manifest = stats.warnings
    assert version.startswith(
        f"{other}: schema version 99, this taskforge reads version {SCHEMA_VERSION}"
    )
    assert cut.startswith(f"{corrupt}: not a readable Parquet file")
    assert manifest.startswith(f"{layout.manifest_path} is missing")


def test_warnings_that_leave_the_figures_right(layout: DatasetLayout[Path]) -> None:
    with dataset_lock(layout):  # a writer killed after the rename, before the manifest
        unlisted = write_shard(layout, DatasetTable.TRAIN, tasks_table([make_task(9)]))
    (warning,) = dataset_stats(layout).warnings
    assert warning.startswith(f"{unlisted} is not in {layout.manifest_path}")
    task, warnings = find_task(layout, "o__n-9")
    assert (task.instance_id, warnings) == ("o__n-9", [warning])
    layout.manifest_path.unlink()  # the work folder is there, the manifest is not
    (missing,) = dataset_stats(layout).warnings
    assert missing.startswith(f"{layout.manifest_path} is missing")


def test_a_copy_without_its_work_folder_is_read_silently(
    layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    copy = DatasetLayout(tmp_path / "copy", tmp_path / "elsewhere" / "work")
    shutil.copytree(layout.root, copy.root)
    stats = dataset_stats(copy)
    assert (stats.verified, stats.rejected, stats.warnings) == (5, 2, [])
    assert find_task(copy, "o__n-4")[1] == []
    assert not copy.work.exists()  # readers create nothing


def test_stats_of_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="is not a taskforge dataset"):
        dataset_stats(DatasetLayout(tmp_path))
    with pytest.raises(UserInputError, match="is not a folder"):
        dataset_stats(DatasetLayout(tmp_path / "nowhere"))


def test_an_empty_dataset_has_no_repositories(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    stats = dataset_stats(layout)
    assert (stats.repos, stats.shards) == ([], 0)
    out = Console(record=True, width=100)
    render_stats(stats, layout, out)
    assert "no tasks yet" in out.export_text()


def test_find_task_returns_the_newest_row(layout: DatasetLayout[Path]) -> None:
    task, warnings = find_task(layout, "o__n-4")
    assert (task.outcome, task.FAIL_TO_PASS, warnings) == (Outcome.VERIFIED, node_ids(2), [])


def test_find_task_suggests_close_ids(layout: DatasetLayout[Path]) -> None:
    with pytest.raises(UserInputError, match=r"no task o__n-44 in .*; did you mean o__n-4"):
        find_task(layout, "o__n-44")


def test_show_renders_statement_patches_and_tests(layout: DatasetLayout[Path]) -> None:
    task, _ = find_task(layout, "o__n-2")
    out = Console(record=True, width=120)
    render_task(task, out)
    text = out.export_text(clear=False)
    assert "Fix x" in text and "Details with [markup] and a" in text  # no markup eaten
    assert "diff --git a/x.py b/x.py\u240d" in text  # CRLF shown, not hidden
    assert "+caf\u00e9 \u00ff\u00fe \u2400 \u241b[31m \u240d" in text  # no raw controls
    assert "FAIL_TO_PASS (3)" in text and "tests/test_x.py::test_2" in text
    assert "PASS_TO_PASS (2)" in text and "tests/test_x.py::test_w[1-2]" in text
    assert "tests/test_x.py::test_flaky (flake rate 25%)" in text
    assert "https://github.com/o/n/pull/2" in text
    styled = out.export_text(styles=True)
    assert "\x1b[" in styled  # the patches are highlighted
