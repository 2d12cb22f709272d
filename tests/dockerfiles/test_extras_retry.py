"""Tests that skip for want of an optional extra: told apart, retried with every extra."""

from __future__ import annotations

from datetime import UTC, datetime

from dockerfiles.extras_retry import after_retry, wants_every_extra, with_every_extra
from dockerfiles.plan import EnvPlan
from pipeline.core.records import (
    EnvAttempt,
    InstallConfig,
    MergeKind,
    Outcome,
    ProblemSource,
    Task,
    TestStatus,
)
from tests.dockerfiles.test_build_failure import PYJWT_SETUP
from validators.grading import RunResult, grade
from validators.junit import Report

SKIP, PASS = TestStatus.SKIPPED, TestStatus.PASSED


def run(exit_code: int, **statuses: TestStatus) -> RunResult:
    return RunResult(exit_code, Report({f"tests/test_jwt.py::{k}": v for k, v in statuses.items()}))


def candidate(**fields: object) -> Task:
    base = {
        "instance_id": "o__jwt-1",
        "repo": "o/jwt",
        "base_commit": "a" * 40,
        "patch": "",
        "test_patch": "",
        "problem_statement": "",
        "created_at": datetime(2018, 5, 1, tzinfo=UTC),
        "pull_number": 1,
        "fix_commit": "b" * 40,
        "merge_kind": MergeKind.MERGE_COMMIT,
        "problem_source": ProblemSource.COMMIT_MESSAGE,
        "test_files": ["tests/test_jwt.py"],
    }
    return Task.model_validate({**base, **fields})


def test_tests_skipped_on_both_sides_are_reported() -> None:
    before = [run(0, test_rsa=SKIP, test_hmac=PASS)] * 2
    after = [run(0, test_rsa=SKIP, test_hmac=PASS)] * 3
    verdict = grade(before, after)
    assert verdict.outcome is Outcome.NO_FAIL_TO_PASS
    assert verdict.skipped == ["tests/test_jwt.py::test_rsa"]
    assert verdict.detail == "1 tests pass on both sides, 1 skipped on both sides"


def test_only_no_fail_to_pass_with_skips_in_touched_files_is_retried() -> None:
    skipped = ["tests/test_jwt.py::test_rsa"]
    assert wants_every_extra(candidate(outcome=Outcome.NO_FAIL_TO_PASS, skipped_tests=skipped))
    assert not wants_every_extra(candidate(outcome=Outcome.NO_FAIL_TO_PASS))
    assert not wants_every_extra(candidate(outcome=Outcome.VERIFIED, skipped_tests=skipped))
    elsewhere = ["tests/test_other.py::test_x"]
    assert not wants_every_extra(
        candidate(outcome=Outcome.NO_FAIL_TO_PASS, skipped_tests=elsewhere)
    )


def plan(extras: list[str]) -> EnvPlan:
    attempt = InstallConfig(python="3.9", base_image="", extras=extras)
    return EnvPlan("o/jwt", "a" * 40, {"setup.py": PYJWT_SETUP}, [attempt], "k")


def test_every_extra_plan() -> None:
    again = with_every_extra(plan(["tests"]))
    assert again is not None and again.key != "k"
    assert [a.extras for a in again.attempts] == [["tests", "crypto", "dev"]]
    assert with_every_extra(plan(["crypto", "tests", "dev"])) is None


def test_after_retry_keeps_the_better_verdict_and_both_attempts() -> None:
    tried = EnvAttempt(python="3.9", extras=["tests"], succeeded=True)
    first = candidate(
        outcome=Outcome.NO_FAIL_TO_PASS,
        outcome_detail="1 tests pass on both sides, 1 skipped on both sides",
        skipped_tests=["tests/test_jwt.py::test_rsa"],
        env_attempts=[tried],
    )
    retried = EnvAttempt(python="3.9", extras=["tests", "crypto"], succeeded=True)
    second = candidate(
        outcome=Outcome.VERIFIED,
        outcome_detail="1 FAIL_TO_PASS, 1 PASS_TO_PASS",
        FAIL_TO_PASS=["tests/test_jwt.py::test_rsa"],
        env_attempts=[retried],
    )
    kept = after_retry(first, second, ["tests", "crypto"])
    assert kept.outcome is Outcome.VERIFIED
    assert kept.env_attempts == [tried, retried]
    assert "retried with every extra (tests, crypto) after 1 tests skipped" in kept.outcome_detail
    no_env = after_retry(first, None, ["tests", "crypto"], "no environment")
    assert no_env.outcome is Outcome.NO_FAIL_TO_PASS and "no environment" in no_env.outcome_detail
