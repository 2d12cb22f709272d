"""Grade a candidate from its test runs: pure functions, no Docker, no files.

Three states are run, each possibly several times:

- *base*: the base commit alone (the tests that already existed), once;
- *before*: base + test patch, repeated (default 2);
- *after*: base + test patch + fix, repeated (default 3).

Each run is a runner exit code and a parsed report. The verdict:

- FAIL_TO_PASS: failed or errored in every *before* run, passed in every *after* run. A test
  whose file could not be collected (the test patch imports what the fix adds) counts as
  errored in that run.
- PASS_TO_PASS: passed in every run of every state where it exists.
- skipped: skipped in every *before* and *after* run (the environment may lack an optional
  extra the tests need; the flow retries those with every extra before rejecting).
- PASS_TO_FAIL: passed before, failed or errored after (or its file no longer collects);
  any such test rejects the task (``fix_breaks_tests``).
- flaky: a test whose outcome changes between repeats of the same state. It is left out of
  both lists and recorded with its flake rate (the share of its runs in that state that
  differ from the majority). A task whose FAIL_TO_PASS would rest on a flaky test — one that
  failed in every *before* run and passed in some *after* run, or failed in most *before*
  runs and passed in every *after* run — is rejected as ``flaky``.

A *before* or *after* run counts only when the runner's exit code agrees with its report
(pytest: 0 means nothing failed, 1 means something failed or errored, or a file held no test
where the runner counts that as a failure, as vitest does); a missing or empty
report, or a disagreeing exit code, is ``tests_not_collected``, never "passed". A *base* run
that cannot be graded is ignored: the base state only narrows PASS_TO_PASS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.core.records import FlakyTest, Outcome, TestStatus
from validators.junit import Report

BAD = frozenset({TestStatus.FAILED, TestStatus.ERROR})


@dataclass(frozen=True)
class RunResult:
    """One test run's exit code and its parsed report."""

    exit_code: int
    report: Report | None  # None when the runner wrote no report


@dataclass(frozen=True)
class Verdict:
    """The grading's decision and the test lists it rests on."""

    outcome: Outcome
    detail: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    pass_to_fail: list[str]
    flaky: list[FlakyTest]
    skipped: list[str] = field(default_factory=list)  # skipped in every before and after run


def run_problem(run: RunResult) -> str | None:
    """Why a run cannot be graded, or None when its exit code and report agree."""
    if run.report is None:
        return f"no test report (exit code {run.exit_code})"
    if run.report.empty:
        return f"the report holds no test (exit code {run.exit_code})"
    any_bad = bool(run.report.collection_errors) or any(
        s in BAD for s in run.report.statuses.values()
    )
    if run.exit_code == 0 and any_bad:
        return "exit code 0 but the report has failures"
    if run.exit_code == 1 and not any_bad and not run.report.empty_units:
        return "exit code 1 but the report has no failure"
    if run.exit_code not in (0, 1):
        return f"the runner stopped with exit code {run.exit_code}"
    return None


def status_in(report: Report, test: str) -> TestStatus | None:
    """A test's status, with tests of uncollectable files counted as errors."""
    if test in report.statuses:
        return report.statuses[test]
    if report.unit_of(test) in report.collection_errors:
        return TestStatus.ERROR
    return None


def _statuses(runs: Sequence[RunResult], test: str) -> list[TestStatus | None]:
    return [status_in(r.report, test) for r in runs if r.report is not None]


def _flake_rate(statuses: list[TestStatus | None]) -> float:
    outcomes = ["bad" if s in BAD else str(s) for s in statuses]
    majority = Counter(outcomes).most_common(1)[0][1]
    return round((len(outcomes) - majority) / len(outcomes), 3)


def _is_flaky(statuses: list[TestStatus | None]) -> bool:
    return len({"bad" if s in BAD else s for s in statuses}) > 1


def _would_fail_to_pass(old: list[TestStatus | None], new: list[TestStatus | None]) -> bool:
    """A flaky test that FAIL_TO_PASS would rest on: it never passed before and passed after
    at least once, or it always passed after and failed in most runs before."""
    bad_before = sum(s in BAD for s in old)
    if old and bad_before == len(old) and TestStatus.PASSED in new:
        return True
    return bool(new) and all(s is TestStatus.PASSED for s in new) and bad_before > len(old) / 2


def grade(
    before: Sequence[RunResult], after: Sequence[RunResult], base: Sequence[RunResult] = ()
) -> Verdict:
    """The verdict of a candidate from its runs (see the module)."""
    for state, runs in (("before", before), ("after", after)):
        for run in runs:
            problem = run_problem(run)
            if problem is not None:
                detail = f"{state} the fix: {problem}"
                return Verdict(Outcome.TESTS_NOT_COLLECTED, detail, [], [], [], [])
    base = [run for run in base if run_problem(run) is None]
    tests = sorted({t for r in [*before, *after] if r.report for t in r.report.statuses})
    fail_to_pass, pass_to_pass, pass_to_fail, flaky, flaky_f2p = [], [], [], [], []
    skipped = []
    for test in tests:
        old, new, at_base = _statuses(before, test), _statuses(after, test), _statuses(base, test)
        unstable = [s for s in (old, new, at_base) if _is_flaky(s)]
        if unstable:
            flaky.append(FlakyTest(test=test, flake_rate=max(_flake_rate(s) for s in unstable)))
            if _would_fail_to_pass(old, new):
                flaky_f2p.append(test)
            continue
        first_old, first_new = old[0], new[0]
        if {*old, *new} == {TestStatus.SKIPPED}:
            skipped.append(test)
        elif first_new is TestStatus.PASSED and first_old in BAD:
            fail_to_pass.append(test)
        elif first_new is TestStatus.PASSED and first_old is TestStatus.PASSED:
            if not at_base or at_base[0] in (TestStatus.PASSED, None):
                pass_to_pass.append(test)
        elif first_old is TestStatus.PASSED and first_new in BAD:
            pass_to_fail.append(test)
    outcome, detail = _decide(fail_to_pass, pass_to_pass, pass_to_fail, flaky_f2p)
    if outcome is Outcome.NO_FAIL_TO_PASS and skipped:
        detail += f", {len(skipped)} skipped on both sides"
    return Verdict(outcome, detail, fail_to_pass, pass_to_pass, pass_to_fail, flaky, skipped)


def _decide(
    fail_to_pass: list[str],
    pass_to_pass: list[str],
    pass_to_fail: list[str],
    flaky_f2p: list[str],
) -> tuple[Outcome, str]:
    if pass_to_fail:
        return Outcome.FIX_BREAKS_TESTS, f"{len(pass_to_fail)} tests break: " + ", ".join(
            pass_to_fail[:3]
        )
    if flaky_f2p:
        return Outcome.FLAKY, f"FAIL_TO_PASS would rest on flaky tests: {', '.join(flaky_f2p[:3])}"
    if not fail_to_pass:
        return Outcome.NO_FAIL_TO_PASS, f"{len(pass_to_pass)} tests pass on both sides"
    return Outcome.VERIFIED, f"{len(fail_to_pass)} FAIL_TO_PASS, {len(pass_to_pass)} PASS_TO_PASS"
