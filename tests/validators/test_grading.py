"""Golden-file tests of the pure grading core: status maps in, verdict out, no Docker.

Each ``golden/grading/*.json`` holds the runs of the three states (exit code and statuses, or
no report) and the verdict they must give. Flaky and exit-code-mismatch cases are among them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.records import Outcome, TestStatus
from validators.grading import RunResult, grade
from validators.junit import Report

CASES = sorted((Path(__file__).parent / "golden" / "grading").glob("*.json"))


def to_run(raw: dict[str, Any]) -> RunResult:
    report = raw["report"]
    if report is None:
        return RunResult(raw["exit_code"], None)
    statuses = {test: TestStatus(status) for test, status in report["statuses"].items()}
    return RunResult(raw["exit_code"], Report(statuses, report["collection_errors"]))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_verdict(case: Path) -> None:
    data = json.loads(case.read_text())
    verdict = grade(
        [to_run(r) for r in data["before"]],
        [to_run(r) for r in data["after"]],
        [to_run(r) for r in data["base"]],
    )
    expected = data["expected"]
    assert verdict.outcome is Outcome(expected["outcome"]), verdict.detail
    assert verdict.fail_to_pass == expected["FAIL_TO_PASS"]
    assert verdict.pass_to_pass == expected["PASS_TO_PASS"]
    assert verdict.pass_to_fail == expected["PASS_TO_FAIL"]
    assert {f.test: f.flake_rate for f in verdict.flaky} == expected["flaky"]


def test_there_are_enough_golden_cases() -> None:
    outcomes = {json.loads(c.read_text())["expected"]["outcome"] for c in CASES}
    assert {
        "verified",
        "flaky",
        "tests_not_collected",
        "fix_breaks_tests",
        "no_fail_to_pass",
    } <= outcomes
