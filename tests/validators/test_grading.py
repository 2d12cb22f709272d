"""The pure grading core, from status maps to a verdict: no Docker."""

from __future__ import annotations

import pytest

from pipeline.records import Outcome, TestStatus
from validators.grading import RunResult, grade, run_problem
from validators.junit import Report

P, F, E, S = TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED


def run(
    statuses: dict[str, TestStatus],
    exit_code: int | None = None,
    collection_errors: list[str] | None = None,
) -> RunResult:
    report = Report(dict(statuses), collection_errors or [])
    bad = any(s in (F, E) for s in statuses.values()) or bool(collection_errors)
    return RunResult(int(bad) if exit_code is None else exit_code, report)


def test_verified() -> None:
    verdict = grade(
        run({"t.py::a": F, "t.py::b": P, "t.py::c": E}),
        run({"t.py::a": P, "t.py::b": P, "t.py::c": P}),
    )
    assert verdict.outcome is Outcome.VERIFIED
    assert verdict.fail_to_pass == ["t.py::a", "t.py::c"]
    assert verdict.pass_to_pass == ["t.py::b"]
    assert verdict.pass_to_fail == []


def test_collection_error_before_counts_as_error() -> None:
    verdict = grade(run({}, collection_errors=["t.py"]), run({"t.py::a": P, "t.py::b": P}))
    assert verdict.outcome is Outcome.VERIFIED
    assert verdict.fail_to_pass == ["t.py::a", "t.py::b"]


def test_nothing_fails_before() -> None:
    verdict = grade(run({"t.py::a": P}), run({"t.py::a": P}))
    assert verdict.outcome is Outcome.NO_FAIL_TO_PASS
    assert verdict.pass_to_pass == ["t.py::a"]


def test_fix_breaks_a_test() -> None:
    verdict = grade(run({"t.py::a": F, "t.py::b": P}), run({"t.py::a": P, "t.py::b": F}))
    assert verdict.outcome is Outcome.FIX_BREAKS_TESTS
    assert verdict.pass_to_fail == ["t.py::b"]
    assert verdict.fail_to_pass == ["t.py::a"]


def test_fix_that_breaks_collection_breaks_tests() -> None:
    verdict = grade(
        run({"t.py::a": F, "u.py::b": P}), run({"t.py::a": P}, collection_errors=["u.py"])
    )
    assert verdict.outcome is Outcome.FIX_BREAKS_TESTS
    assert verdict.pass_to_fail == ["u.py::b"]


def test_skipped_and_still_failing_tests_are_in_no_list() -> None:
    verdict = grade(
        run({"t.py::a": F, "t.py::s": S, "t.py::f": F}),
        run({"t.py::a": P, "t.py::s": S, "t.py::f": F}),
    )
    assert verdict.fail_to_pass == ["t.py::a"]
    assert verdict.pass_to_pass == []


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (RunResult(1, None), "no JUnit report"),
        (RunResult(5, Report()), "holds no test"),
        (RunResult(0, Report({"t.py::a": F})), "exit code 0 but"),
        (RunResult(1, Report({"t.py::a": P})), "exit code 1 but"),
        (RunResult(2, Report({"t.py::a": P})), "exit code 2"),
    ],
)
def test_exit_code_must_agree_with_the_report(result: RunResult, problem: str) -> None:
    assert problem in (run_problem(result) or "")
    verdict = grade(result, run({"t.py::a": P}))
    assert verdict.outcome is Outcome.TESTS_NOT_COLLECTED
    assert verdict.fail_to_pass == []


def test_after_run_is_checked_too() -> None:
    verdict = grade(run({"t.py::a": F}), RunResult(0, Report({"t.py::a": F})))
    assert verdict.outcome is Outcome.TESTS_NOT_COLLECTED
    assert verdict.detail.startswith("after")
