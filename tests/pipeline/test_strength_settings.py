"""Test strength in the pipeline, without Docker: the settings (CLI, schedules, the validation
cache key), and the figures of stats, show and the card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockerfiles.environment import Environment
from pipeline.backfill.request import BackfillRequest
from pipeline.core.records import (
    ImageRef,
    InstallConfig,
    Outcome,
    Task,
    WrongPatch,
    WrongPatchFate,
    WrongPatchKind,
)
from pipeline.dataset.browse import StrengthStats, dataset_stats, strength_bucket
from pipeline.dataset.card import finalize
from pipeline.dataset.shards import DatasetLayout, write_batch
from pipeline.orchestration.schedules import load_schedules
from pipeline.orchestration.tasks import validation_key
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error, taskforge


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    prepared = DatasetLayout(tmp_path / "out", tmp_path / "work")
    prepared.prepare()
    return prepared


def key(**request: Any) -> str:
    env = Environment(
        ImageRef(tag="t", id="sha256:1", fingerprint="f"),
        InstallConfig(python="3.11", base_image="b"),
        "c" * 40,
        False,
        [],
    )
    made = BackfillRequest(source="s", repo="o/n", out=Path("out"), **request)
    return validation_key(None, {"request": made, "candidate": make_task(1), "env": env})


def test_the_strength_settings_decide_the_validation_key() -> None:
    keys = {
        key(),
        key(strength=False),
        key(min_strength=0.5),
        key(min_strength=1.0),
    }
    assert len(keys) == 4
    assert key(min_strength=0.5) == key(min_strength=0.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-strength", "--min-strength", "0.5"], "--min-strength needs the strength check"),
        (["--min-strength", "1.5"], "less than or equal to 1"),
    ],
)
def test_bad_strength_settings_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = ["--repo", "o/n", "--out", str(tmp_path / "out")]
    result = taskforge("backfill", str(tmp_path), *out, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    if args[0] == "--no-strength":
        assert_one_line_error(result, message, 2)
    assert not (tmp_path / "out").exists()


def test_a_scheduled_group_takes_the_strength_settings(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.toml"
    group = (
        '[[group]]\nname = "g"\ncron = "0 3 * * *"\nout = "{out}"\n{extra}\n'
        '[[group.repos]]\nsource = "https://example.org/o/n.git"\nrepo = "o/n"\n'
    )
    schedules.write_text(group.format(out=tmp_path / "out", extra="min_strength = 0.75"))
    (found,) = load_schedules(schedules).groups
    request = found.request_for(found.repos[0])
    assert (request.strength, request.min_strength) == (True, 0.75)
    bad = group.format(out=tmp_path / "out", extra="strength = false\nmin_strength = 0.75")
    schedules.write_text(bad)
    with pytest.raises(Exception, match="min_strength needs the strength check"):
        load_schedules(schedules)


def measured(number: int, strength: float | None, uncovered: list[str] | None = None) -> Task:
    fates = [
        WrongPatch(kind=WrongPatchKind.HUNK_LEFT_OUT, name=name, fate=WrongPatchFate.MISSED)
        for name in uncovered or []
    ]
    tried = 4 if strength is not None else 0
    caught = round((strength or 0) * tried)
    return make_task(number).with_strength(strength, tried, caught, uncovered or [], fates, 2.0)


@pytest.mark.parametrize(
    ("strength", "bucket"),
    [(None, "not measured"), (0.0, "0"), (0.25, "(0, 0.5)"), (0.5, "[0.5, 1)"), (1.0, "1")],
)
def test_strength_buckets(strength: float | None, bucket: str) -> None:
    assert strength_bucket(strength) == bucket


def test_stats_show_and_the_card_give_the_strength_distribution(
    layout: DatasetLayout[Path],
) -> None:
    weak = measured(5, 0.25, ["x.py @@ -1,2 +1,3 @@"]).rejected(Outcome.WEAK_TESTS, "weak")
    tasks = [
        measured(1, 1.0),
        measured(2, 0.5, ["x.py @@ -10,2 +10,3 @@"]),
        measured(3, 0.0, ["x.py @@ -1,2 +1,3 @@"]),
        measured(4, None),
        weak,
    ]
    write_batch(layout, tasks)
    finalize(layout)
    assert dataset_stats(layout).strength == StrengthStats(
        buckets={"1": 1, "[0.5, 1)": 1, "0": 1, "not measured": 1},
        uncovered=2,
        weak_rejected=1,
        seconds_median=2.0,
    )
    card = layout.card_path.read_text()
    assert "## Test strength" in card
    assert "| strength [0.5, 1) | 1 |" in card and "| strength (0, 0.5) | 0 |" in card
    assert "| verified tasks with uncovered hunks | 2 |" in card
    assert "| rejected as weak_tests (--min-strength) | 1 |" in card
    assert "| `strength` | `double` |" in card
    columns = {"COLUMNS": "200"}
    stats = taskforge("stats", str(layout.root), "--work-dir", str(layout.work), env=columns)
    assert stats.returncode == 0, stats.stderr
    assert "test strength: wrong patches caught ÷ tried" in stats.stdout
    shown = taskforge(
        "show", str(layout.root), "o__n-2", "--work-dir", str(layout.work), env=columns
    )
    assert shown.returncode == 0, shown.stderr
    assert "0.50 (FAIL_TO_PASS caught 2 of 4 wrong patches, 2 s)" in shown.stdout
    assert "x.py @@ -10,2 +10,3 @@" in shown.stdout
