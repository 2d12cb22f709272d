"""Test strength graded from wrong patches' runs: golden cases, no Docker."""

from __future__ import annotations

import pytest

from pipeline.core.records import (
    Outcome,
    Task,
    TestStatus,
    WrongPatch,
    WrongPatchFate,
    WrongPatchKind,
)
from tests.pipeline.factories import make_task
from validators.grading import RunResult
from validators.junit import Report
from validators.strength import fate_of, graded, judged

F2P = ["tests/test_a.py::test_one", "tests/test_a.py::test_two"]
CAUGHT, MISSED, NOT_APPLIED = WrongPatchFate
HUNK, DELETED = WrongPatchKind.HUNK_LEFT_OUT, WrongPatchKind.DELETED_LINE


def run(statuses: dict[str, TestStatus], errors: list[str] | None = None) -> RunResult:
    return RunResult(1, Report(statuses, errors or []))


@pytest.mark.parametrize(
    ("result", "stopped", "expected"),
    [
        (
            run(dict.fromkeys(F2P, TestStatus.PASSED)),
            "",
            (MISSED, "all 2 FAIL_TO_PASS tests passed"),
        ),
        (
            run({F2P[0]: TestStatus.PASSED, F2P[1]: TestStatus.FAILED}),
            "",
            (CAUGHT, "tests/test_a.py::test_two: failed"),
        ),
        (run({F2P[0]: TestStatus.PASSED}), "", (CAUGHT, "tests/test_a.py::test_two: not run")),
        (run({}, ["tests/test_a.py"]), "", (CAUGHT, "tests/test_a.py::test_one: error")),
        (RunResult(2, None), "", (CAUGHT, "no test report (exit code 2)")),
        (
            run(dict.fromkeys(F2P, TestStatus.PASSED)),
            "over 90 s, killed",
            (CAUGHT, "over 90 s, killed"),
        ),
        (run({**dict.fromkeys(F2P, TestStatus.SKIPPED)}), "", (CAUGHT, f"{F2P[0]}: skipped")),
    ],
    ids=[
        "all-pass",
        "one-fails",
        "one-missing",
        "file-uncollectable",
        "no-report",
        "killed",
        "skipped",
    ],
)
def test_the_fate_of_one_wrong_patch(
    result: RunResult, stopped: str, expected: tuple[WrongPatchFate, str]
) -> None:
    assert fate_of(result, F2P, stopped) == expected


def test_a_passing_to_pass_test_broken_does_not_count() -> None:
    statuses = {
        **dict.fromkeys(F2P, TestStatus.PASSED),
        "tests/test_a.py::test_old": TestStatus.FAILED,
    }
    assert fate_of(run(statuses), F2P)[0] is MISSED


def wrong(kind: WrongPatchKind, name: str, fate: WrongPatchFate) -> WrongPatch:
    return WrongPatch(kind=kind, name=name, fate=fate)


def test_strength_is_caught_over_tried_and_names_the_uncovered_hunks() -> None:
    found = graded(
        [
            wrong(HUNK, "a.py @@ -1,4 +1,7 @@", CAUGHT),
            wrong(HUNK, "a.py @@ -19,4 +22,6 @@", MISSED),
            wrong(HUNK, "b.py @@ -1,1 +1,1 @@", NOT_APPLIED),
            wrong(DELETED, "a.py:3: line deleted", MISSED),
            wrong(WrongPatchKind.FLIPPED_COMPARISON, "a.py:2: < to >=", CAUGHT),
        ]
    )
    assert (found.strength, found.tried, found.caught) == (0.5, 4, 2)
    assert found.uncovered_hunks == ["a.py @@ -19,4 +22,6 @@"]  # a missed mutation is no hunk
    assert len(found.wrong_patches) == 5


def test_nothing_tried_is_no_strength_at_all() -> None:
    assert graded([]).strength is None
    only_unapplied = graded([wrong(HUNK, "a.py @@ -1 +1 @@", NOT_APPLIED)])
    assert (only_unapplied.strength, only_unapplied.tried) == (None, 0)


def test_strength_is_rounded() -> None:
    fates = [CAUGHT, CAUGHT, MISSED]
    assert graded([wrong(DELETED, f"a.py:{n}", f) for n, f in enumerate(fates)]).strength == 0.6667


def measured(strength: float | None, tried: int, caught: int) -> Task:
    missed = [wrong(HUNK, f"a.py @@ -{n},1 +{n},1 @@", MISSED) for n in range(tried - caught)]
    return make_task(1).with_strength(
        strength, tried, caught, [w.name for w in missed], missed, 2.0
    )


def test_below_the_threshold_a_verified_task_is_rejected_as_weak_tests() -> None:
    task = judged(measured(0.25, 4, 1), 0.5)
    assert task.outcome is Outcome.WEAK_TESTS
    assert task.outcome_detail == (
        "strength 0.25 below --min-strength 0.5: FAIL_TO_PASS caught 1 of 4 wrong patches; "
        "missed: a.py @@ -0,1 +0,1 @@; a.py @@ -1,1 +1,1 @@; 1 more"
    )
    assert task.FAIL_TO_PASS == make_task(1).FAIL_TO_PASS  # the lists stay, for a reader


@pytest.mark.parametrize(
    ("strength", "threshold"), [(0.5, 0.5), (1.0, 1.0), (0.1, None), (None, 1.0)]
)
def test_at_or_above_the_threshold_without_one_or_unmeasured_it_is_kept(
    strength: float | None, threshold: float | None
) -> None:
    task = measured(strength, 2 if strength is not None else 0, 1 if strength else 0)
    assert judged(task, threshold) == task


def test_a_rejected_task_is_not_judged_again() -> None:
    task = measured(0.0, 2, 0).rejected(Outcome.TIMEOUT, "killed")
    assert judged(task, 1.0).outcome is Outcome.TIMEOUT
