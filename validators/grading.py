"""Grade a candidate from its two test runs: pure functions, no Docker, no files.

Inputs are the runs of the two states — *before* (base + test patch) and *after* (base +
test patch + fix) — each a runner exit code and a parsed report. Output is a ``Verdict``:

- FAIL_TO_PASS: failed or errored before, passed after. A test whose file could not be
  collected before (the test patch imports what the fix adds) counts as errored before.
- PASS_TO_PASS: passed before and after.
- PASS_TO_FAIL: passed before, failed, errored or uncollectable after; any such test
  rejects the task (the fix breaks tests).

A run counts only when the runner's exit code agrees with its report (pytest: 0 means
nothing failed, 1 means something failed or errored); a missing or empty report, or a
disagreeing exit code, is ``tests_not_collected``, never "passed".
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.records import Outcome, TestStatus
from validators.junit import Report

BAD = frozenset({TestStatus.FAILED, TestStatus.ERROR})


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    report: Report | None  # None when the runner wrote no report


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    detail: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    pass_to_fail: list[str]


def run_problem(run: RunResult) -> str | None:
    """Why a run cannot be graded, or None when its exit code and report agree."""
    if run.report is None:
        return f"no JUnit report (exit code {run.exit_code})"
    if run.report.empty:
        return f"the report holds no test (exit code {run.exit_code})"
    any_bad = bool(run.report.collection_errors) or any(
        s in BAD for s in run.report.statuses.values()
    )
    if run.exit_code == 0 and any_bad:
        return "exit code 0 but the report has failures"
    if run.exit_code == 1 and not any_bad:
        return "exit code 1 but the report has no failure"
    if run.exit_code not in (0, 1):
        return f"the runner stopped with exit code {run.exit_code}"
    return None


def status_in(report: Report, test: str) -> TestStatus | None:
    """A test's status, with tests of uncollectable files counted as errors."""
    if test in report.statuses:
        return report.statuses[test]
    if test.split("::", 1)[0] in report.collection_errors:
        return TestStatus.ERROR
    return None


def grade(before: RunResult, after: RunResult) -> Verdict:
    for state, run in (("before", before), ("after", after)):
        problem = run_problem(run)
        if problem is not None:
            return Verdict(Outcome.TESTS_NOT_COLLECTED, f"{state} the fix: {problem}", [], [], [])
    assert before.report is not None and after.report is not None
    tests = sorted(set(before.report.statuses) | set(after.report.statuses))
    fail_to_pass, pass_to_pass, pass_to_fail = [], [], []
    for test in tests:
        old, new = status_in(before.report, test), status_in(after.report, test)
        if new is TestStatus.PASSED and old in BAD:
            fail_to_pass.append(test)
        elif new is TestStatus.PASSED and old is TestStatus.PASSED:
            pass_to_pass.append(test)
        elif old is TestStatus.PASSED and new in BAD:
            pass_to_fail.append(test)
    if pass_to_fail:
        outcome, detail = (
            Outcome.FIX_BREAKS_TESTS,
            f"{len(pass_to_fail)} tests break: " + (", ".join(pass_to_fail[:3])),
        )
    elif not fail_to_pass:
        outcome, detail = Outcome.NO_FAIL_TO_PASS, f"{len(pass_to_pass)} tests pass on both sides"
    else:
        outcome, detail = Outcome.VERIFIED, f"{len(fail_to_pass)} FAIL_TO_PASS"
    return Verdict(outcome, detail, fail_to_pass, pass_to_pass, pass_to_fail)
