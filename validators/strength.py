"""Test strength, graded: pure functions from the runs of a task's wrong patches to its record.

A wrong patch (``validators.wrong_patches``) is run once, against the task's FAIL_TO_PASS
(``validators.strength_runs``). Its fate (``WrongPatchFate``):

- ``caught`` when at least one FAIL_TO_PASS test does not pass: it failed, errored, is
  missing from the report (its file no longer collects, or the build failed), or the run
  wrote no report at all, or was killed (its time limit, its memory);
- ``missed`` when every FAIL_TO_PASS test passed: the tests do not depend on what the wrong
  patch changed. A PASS_TO_PASS test it breaks does not count: the measure is of the tests
  the task is paid on;
- ``not_applied`` when it did not apply: it is not counted.

``strength`` is caught / tried over the wrong patches that ran, rounded to 4 places; None when
none ran (a fix of one hunk with no line to mutate), so "nothing tried" is never read as
"weak" or "strong". ``uncovered_hunks`` names each hunk whose omission was missed. With a
threshold (``--min-strength``), a verified task below it is rejected as ``weak_tests``
(``judged``); one whose strength is None is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.core.records import (
    Outcome,
    Task,
    TestStatus,
    WrongPatch,
    WrongPatchFate,
    WrongPatchKind,
)
from validators.grading import RunResult, status_in

SHOWN = 2  # missed wrong patches a weak_tests detail names


@dataclass(frozen=True)
class Strength:
    """What the strength check found, as the Task records it."""

    strength: float | None
    tried: int
    caught: int
    uncovered_hunks: list[str]
    wrong_patches: list[WrongPatch]


def fate_of(
    result: RunResult, fail_to_pass: Sequence[str], stopped: str = ""
) -> tuple[WrongPatchFate, str]:
    """The fate of one wrong patch's run, and why; ``stopped`` says how a killed run ended."""
    if stopped:
        return WrongPatchFate.CAUGHT, stopped
    if result.report is None:
        return WrongPatchFate.CAUGHT, f"no test report (exit code {result.exit_code})"
    for test in fail_to_pass:
        status = status_in(result.report, test)
        if status is not TestStatus.PASSED:
            return WrongPatchFate.CAUGHT, f"{test}: {status.value if status else 'not run'}"
    return WrongPatchFate.MISSED, f"all {len(fail_to_pass)} FAIL_TO_PASS tests passed"


def graded(wrong_patches: Sequence[WrongPatch]) -> Strength:
    """The strength of a task from the fates of its wrong patches, in the order they ran."""
    counted = [w for w in wrong_patches if w.fate is not WrongPatchFate.NOT_APPLIED]
    caught = sum(w.fate is WrongPatchFate.CAUGHT for w in counted)
    uncovered = [
        w.name
        for w in counted
        if w.kind is WrongPatchKind.HUNK_LEFT_OUT and w.fate is WrongPatchFate.MISSED
    ]
    return Strength(
        strength=round(caught / len(counted), 4) if counted else None,
        tried=len(counted),
        caught=caught,
        uncovered_hunks=uncovered,
        wrong_patches=list(wrong_patches),
    )


def judged(task: Task, min_strength: float | None) -> Task:
    """``task``, or, when it is verified and its strength is below ``min_strength``, the task
    rejected as ``weak_tests`` with a detail naming what was tried and what got through."""
    if min_strength is None or not task.verified or task.strength is None:
        return task
    if task.strength >= min_strength:
        return task
    missed = [w.name for w in task.wrong_patches if w.fate is WrongPatchFate.MISSED]
    more = len(missed) - SHOWN
    shown = "; ".join(missed[:SHOWN]) + (f"; {more} more" if more > 0 else "")
    detail = (
        f"strength {task.strength:.2f} below --min-strength {min_strength:g}: FAIL_TO_PASS "
        f"caught {task.strength_caught} of {task.strength_tried} wrong patches; missed: {shown}"
    )
    return task.rejected(Outcome.WEAK_TESTS, detail)
