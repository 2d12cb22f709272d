"""Screening on real git repositories: duplicates kept once across repositories and reruns,
near-identical statements flagged, leaks recorded, benchmark instances flagged or dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.backfill.benchmark import BenchmarkAction, load_benchmark
from pipeline.backfill.request import BackfillRequest, BackfillSummary
from pipeline.backfill.screening import screen
from pipeline.core.errors import UserInputError
from pipeline.core.records import BenchmarkMatchKind, LeakKind, Outcome, Task
from pipeline.dataset.browse import ScreeningStats, dataset_stats
from pipeline.dataset.card import finalize
from pipeline.dataset.duplicates import MIN_SHINGLES, statement_signature
from pipeline.dataset.shards import DatasetLayout, read_tasks, reject_known_copies, write_batch
from pipeline.dataset.storage import DatasetTable
from pipeline.orchestration.schedules import load_schedules
from tests.pipeline.screened_repos import SHAPES_AFTER, STATEMENT, repo_with_fix, verified_candidate
from tests.pipeline.test_cli import assert_one_line_error, taskforge

OTHER_FIX = SHAPES_AFTER.replace("radius < 0", "radius <= 0")


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    prepared = DatasetLayout(tmp_path / "out", tmp_path / "work")
    prepared.prepare()
    return prepared


def mined(
    folder: Path,
    name: str,
    number: int,
    lines_before: int = 0,
    statement: str = STATEMENT,
    fix: str = SHAPES_AFTER,
) -> Task:
    """``name``'s PR ``number``, mined from a real repository, verified and screened."""
    repo = repo_with_fix(folder, number, lines_before, statement, fix)
    (task,) = screen([verified_candidate(repo, name)])
    return task


def written(layout: DatasetLayout[Path], task: Task) -> Task:
    (result,) = write_batch(layout, [task])[1]
    return result


def test_the_same_change_from_a_fork_is_kept_once(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5)  # other line numbers
    assert upstream.patch != fork.patch and upstream.patch_id == fork.patch_id != ""
    assert written(layout, upstream).verified
    copy = written(layout, fork)
    assert copy.outcome is Outcome.DUPLICATE and copy.duplicate_of == "acme__shapes-7"
    assert "as acme__shapes-7, written first" in copy.outcome_detail
    tasks = {t.instance_id: t for t in read_tasks(layout)}
    assert tasks["fork__shapes-31"].duplicate_of == "acme__shapes-7"
    assert [t.instance_id for t in tasks.values() if t.verified] == ["acme__shapes-7"]
    assert len(layout.shards(DatasetTable.TRAIN)) == 1


def test_reruns_keep_the_first_written_as_the_original(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5)
    write_batch(layout, [fork])  # the fork is written first this time: it wins
    assert written(layout, upstream).duplicate_of == "fork__shapes-31"
    assert written(layout, fork).verified  # its rerun: its own row is no other task
    assert written(layout, upstream).outcome is Outcome.DUPLICATE  # and the copy's rerun


def test_one_batch_keeps_its_first_task(tmp_path: Path, layout: DatasetLayout[Path]) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5)
    _, tasks = write_batch(layout, [upstream, fork])
    assert [t.outcome for t in tasks] == [Outcome.VERIFIED, Outcome.DUPLICATE]


def test_another_change_with_a_near_identical_statement_is_flagged_not_rejected(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    reworded = STATEMENT.replace("positive area", "positive value")
    other = mined(tmp_path / "other", "other/shapes", 3, statement=reworded, fix=OTHER_FIX)
    unrelated = mined(
        tmp_path / "far",
        "far/shapes",
        4,
        statement="Speed up the area of many circles by caching the value of pi in a constant",
        fix=OTHER_FIX.replace("radius <= 0", "radius < -1"),
    )
    assert other.patch_id != upstream.patch_id
    write_batch(layout, [upstream])
    _, (flagged, kept) = write_batch(layout, [other, unrelated])
    assert flagged.verified and flagged.similar_to == "acme__shapes-7"
    assert kept.verified and kept.similar_to == ""


def test_a_short_statement_has_no_signature() -> None:
    assert statement_signature("Fix typo in the docs") == []
    long = " ".join(f"word{n}" for n in range(MIN_SHINGLES + 2))
    assert len(statement_signature(long)) == 64


def test_screening_records_a_pasted_fix(tmp_path: Path) -> None:
    pasted = STATEMENT + '\n\n```\nraise ValueError(f"radius must not be negative: {radius}")\n```'
    task = mined(tmp_path / "up", "acme/shapes", 7, statement=pasted)
    assert [(leak.kind, leak.field) for leak in task.leaks] == [
        (LeakKind.ADDED_LINE, "problem_statement")
    ]
    clean = mined(tmp_path / "clean", "acme/clean", 8)
    assert clean.leaks == []


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_benchmark_instances_are_flagged_or_dropped(tmp_path: Path) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5)
    other = mined(tmp_path / "other", "other/shapes", 3, fix=OTHER_FIX)
    rows = [
        {"instance_id": "acme__shapes-7", "repo": "Acme/Shapes", "base_commit": "0" * 40},
        {
            "instance_id": "vendor__shapes-99",
            "repo": "vendor/shapes",
            "base_commit": "1" * 40,
            "patch": fork.patch,
        },
    ]
    benchmark = load_benchmark(write_jsonl(tmp_path / "bench.jsonl", rows))
    assert len(benchmark) == 2
    flagged = screen([upstream, fork, other], benchmark)
    matches = [t.benchmark_match for t in flagged]
    assert matches[0] is not None and matches[0].by is BenchmarkMatchKind.SAME_PR
    assert matches[1] is not None and matches[1].instance_id == "vendor__shapes-99"
    assert matches[1].by is BenchmarkMatchKind.SAME_PATCH
    assert matches[2] is None
    assert all(t.verified for t in flagged)
    dropped = screen([upstream, fork, other], benchmark, BenchmarkAction.DROP)
    assert [t.outcome for t in dropped] == [Outcome.IN_BENCHMARK] * 2 + [Outcome.VERIFIED]
    assert "the same pull request as acme__shapes-7" in dropped[0].outcome_detail
    undecided = upstream.revised(outcome=None)
    assert screen([undecided], benchmark, BenchmarkAction.DROP)[0].outcome is Outcome.IN_BENCHMARK


def test_every_benchmark_format_reads_the_same(tmp_path: Path) -> None:
    rows = [
        {"instance_id": "acme__shapes-7", "repo": "acme/shapes", "base_commit": "0" * 40},
        {"instance_id": "acme__shapes-8", "repo": "acme/shapes", "base_commit": "1" * 40},
    ]
    extra = [row | {"problem_statement": "more columns\nare ignored"} for row in rows]
    (tmp_path / "b.json").write_text(json.dumps(extra))
    (tmp_path / "b.csv").write_text(
        'instance_id,repo,base_commit,patch\nacme__shapes-7,acme/shapes,0,"a\nb"\n'
        "acme__shapes-8,acme/shapes,1,\n"
    )
    pq.write_table(pa.Table.from_pylist(extra), tmp_path / "b.parquet")
    folder = tmp_path / "hub" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows[:1]), folder / "test-00000-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(rows[1:]), folder / "test-00001-of-00002.parquet")
    pq.write_table(
        pa.Table.from_pylist([rows[0] | {"instance_id": "acme__shapes-9"}]),
        folder / "rejected-20250101T000000000000.parquet",  # a taskforge dataset's other table
    )
    for path in ("b.json", "b.csv", "b.parquet", "hub"):
        benchmark = load_benchmark(tmp_path / path)
        assert sorted(benchmark.by_pull.values()) == ["acme__shapes-7", "acme__shapes-8"], path


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.jsonl", "no such file or folder"),
        ("{not json\n", "bad.jsonl", "cannot be read"),
        ('{"instance_id": "acme__shapes-7"}\n', "short.jsonl", "row 1: repo: field required"),
        (
            '{"instance_id": "shapes-7", "repo": "acme/shapes", "base_commit": "0"}\n',
            "id.jsonl",
            "instance id 'shapes-7' is not owner__name-NUMBER",
        ),
        ('{"instance_id": "acme__shapes-7"}', "object.json", "a .json benchmark is a list"),
        ("instance_id\n", "rows.txt", "not a benchmark file"),
        ("", "empty.jsonl", "no benchmark instances"),
    ],
)
def test_a_bad_benchmark_is_one_line(
    tmp_path: Path, content: str | None, name: str, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserInputError, match=message) as raised:
        load_benchmark(path)
    assert "\n" not in str(raised.value)


def test_backfill_names_a_bad_benchmark_before_it_starts(tmp_path: Path) -> None:
    repo_with_fix(tmp_path / "up", 7)
    out = ["--repo", "acme/shapes", "--out", str(tmp_path / "out")]
    bad = write_jsonl(tmp_path / "bench.jsonl", [{"instance_id": "x", "repo": "a/b"}])
    result = taskforge("backfill", str(tmp_path / "up"), *out, "--benchmark", str(bad))
    assert_one_line_error(result, "bench.jsonl: row 1: base_commit: field required", 2)
    missing = taskforge("backfill", str(tmp_path / "up"), *out, "--benchmark", "nope.csv")
    assert_one_line_error(missing, "nope.csv: no such file or folder", 2)
    action = taskforge("backfill", str(tmp_path / "up"), *out, "--benchmark-action", "skip")
    assert_one_line_error(action, "--benchmark-action takes flag or drop, not 'skip'", 2)
    assert not (tmp_path / "out").exists()


def test_stats_and_the_card_count_what_screening_found(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    pasted = STATEMENT + '\n\nraise ValueError(f"radius must not be negative: {radius}")'
    upstream = mined(tmp_path / "up", "acme/shapes", 7, statement=pasted)
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5)
    reworded = pasted.replace("positive area", "positive value")
    similar = mined(tmp_path / "other", "other/shapes", 3, statement=reworded, fix=OTHER_FIX)
    fourth = mined(tmp_path / "four", "four/shapes", 4, fix=OTHER_FIX.replace("<=", "<= -1 or"))
    rows = [
        {"instance_id": "other__shapes-3", "repo": "other/shapes", "base_commit": "0"},
        {"instance_id": "four__shapes-4", "repo": "four/shapes", "base_commit": "0"},
    ]
    benchmark = load_benchmark(write_jsonl(tmp_path / "bench.jsonl", rows))
    (similar,) = screen([similar], benchmark)
    (dropped,) = screen([fourth], benchmark, BenchmarkAction.DROP)
    write_batch(layout, [upstream, fork, similar])
    write_batch(layout, [dropped])
    finalize(layout)

    figures = dataset_stats(layout).screening
    assert figures == ScreeningStats(
        leaks={"added_line": 2},  # the upstream's statement, and the similar one's
        leaky=2,
        similar=1,
        benchmark_flagged=1,
        duplicates=1,
        benchmark_dropped=1,
    )
    card = layout.card_path.read_text()
    assert "## Screening" in card
    assert "| verified tasks whose statement or hints leak the fix | 2 |" in card
    assert "| leaking added_line | 2 |" in card and "| leaking commit_id | 0 |" in card
    assert "| duplicates rejected (duplicate_of) | 1 |" in card
    assert "| benchmark instances dropped | 1 |" in card
    result = taskforge(
        "stats", str(layout.root), "--work-dir", str(layout.work), env={"COLUMNS": "200"}
    )
    assert result.returncode == 0, result.stderr
    assert "screening: leaks, duplicates, benchmark" in result.stdout
    assert "verified tasks with a near-identical statement (similar_to)" in result.stdout


def test_the_flow_screens_again_and_counts_what_was_written(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    from pipeline.orchestration import flows

    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    fork = verified_candidate(repo_with_fix(tmp_path / "fork", 31, 5), "fork/shapes")
    replayed = fork.revised(patch_id="")  # as a validation cached before screening returns it
    rows = [{"instance_id": "acme__shapes-7", "repo": "acme/shapes", "base_commit": "0"}]
    benchmark = write_jsonl(tmp_path / "bench.jsonl", rows)
    request = BackfillRequest(
        source=str(tmp_path / "fork"),
        repo="fork/shapes",
        out=layout.root,
        work_dir=layout.work,
        benchmark=benchmark,
    )
    summary = BackfillSummary(repo="fork/shapes", out=layout.root)
    flows._write(request, summary, [upstream])
    flows._write(request, summary, [replayed])
    assert summary.verified == 1 and summary.rejected == {Outcome.DUPLICATE: 1}
    tasks = {t.instance_id: t for t in read_tasks(layout)}
    assert tasks["fork__shapes-31"].patch_id == upstream.patch_id  # screened again
    assert tasks["fork__shapes-31"].duplicate_of == "acme__shapes-7"
    match = tasks["acme__shapes-7"].benchmark_match
    assert match is not None and match.by is BenchmarkMatchKind.SAME_PR


def test_a_copy_of_a_written_task_is_rejected_before_it_runs(
    tmp_path: Path, layout: DatasetLayout[Path]
) -> None:
    upstream = mined(tmp_path / "up", "acme/shapes", 7)
    write_batch(layout, [upstream])
    fork = mined(tmp_path / "fork", "fork/shapes", 31, lines_before=5).revised(outcome=None)
    other = mined(tmp_path / "other", "other/shapes", 3, fix=OTHER_FIX).revised(outcome=None)
    rerun = upstream.revised(outcome=None)
    copy, kept, again = reject_known_copies(layout, [fork, other, rerun])
    assert copy.outcome is Outcome.DUPLICATE and copy.duplicate_of == "acme__shapes-7"
    assert kept.outcome is None and again.outcome is None  # another change; the original


def test_a_scheduled_group_keeps_its_benchmark_out(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.toml"
    group = f'[[group]]\nname = "a"\ncron = "0 4 * * *"\nout = "{tmp_path / "a"}"\n'
    schedules.write_text(
        group + f'benchmark = "{tmp_path / "bench.jsonl"}"\nbenchmark_action = "drop"\n'
        'repos = [{ source = "o/n", repo = "o/n" }]\n'
    )
    (found,) = load_schedules(schedules).groups
    request = found.request_for(found.repos[0])
    assert request.benchmark == tmp_path / "bench.jsonl"
    assert request.benchmark_action is BenchmarkAction.DROP
    schedules.write_text(
        group + 'benchmark_action = "skip"\nrepos = [{ source = "o/n", repo = "o/n" }]\n'
    )
    with pytest.raises(UserInputError, match="benchmark_action: Input should be 'flag' or"):
        load_schedules(schedules)
