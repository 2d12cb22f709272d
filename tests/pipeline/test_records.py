"""The record's transitions validate: a wrong outcome, a misspelt field or a mutation raises."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.core.records import (
    EnvAttempt,
    ImageRef,
    InstallConfig,
    Outcome,
    RunState,
    SourceKind,
    TestRun,
)
from tests.pipeline.factories import make_task


def test_model_copy_mistakes_are_impossible_through_the_transitions() -> None:
    task = make_task(1, outcome=None)
    # what model_copy(update=...) accepted silently: a bare string outcome, a stray attribute
    sloppy = task.model_copy(update={"outcome": "not-an-outcome", "outcom_detail": "typo"})
    assert sloppy.outcome == "not-an-outcome"
    with pytest.raises(ValidationError, match="outcome"):
        task.rejected("not-an-outcome", "x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="outcom_detail"):
        task.revised(outcom_detail="typo")
    with pytest.raises(ValidationError, match="pull_number"):
        task.revised(pull_number="many")
    with pytest.raises(ValueError, match="a rejection cannot be"):
        task.rejected(Outcome.VERIFIED, "not a rejection")


def test_records_are_frozen() -> None:
    task = make_task(1)
    with pytest.raises(ValidationError, match="frozen"):
        task.outcome = Outcome.FLAKY  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        task.runs = []  # type: ignore[misc]


def test_transitions_fill_their_fields_and_leave_the_rest() -> None:
    task = make_task(1, outcome=None, runs=[], FAIL_TO_PASS=[], env_attempts=[])
    attempt = EnvAttempt(python="3.11", succeeded=True)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    stamped = task.with_provenance(SourceKind.GIT_URL, "9.9", moment)
    assert (stamped.source_kind, stamped.pipeline_version, stamped.mined_at) == (
        SourceKind.GIT_URL,
        "9.9",
        moment,
    )
    imaged = stamped.with_image(ImageRef(tag="t", id="i"))
    run = TestRun(state=RunState.BEFORE, exit_code=1, duration_s=1.0, tests=2)
    ran = imaged.with_run(run).with_run(run.revised(state=RunState.AFTER, exit_code=0))
    assert [r.state for r in ran.runs] == [RunState.BEFORE, RunState.AFTER]
    judged = ran.with_verdict(Outcome.VERIFIED, "", fail_to_pass=["t::a"], pass_to_pass=["t::b"])
    config = InstallConfig(python="3.11", base_image="b")
    done = judged.with_environment(config, "c" * 40, [attempt])
    assert done.verified and done.decided and done.FAIL_TO_PASS == ["t::a"]
    assert done.install_config == config and done.env_attempts == [attempt]
    assert task.runs == [] and task.outcome is None  # the original is untouched
    rejected = task.rejected(Outcome.ENVIRONMENT_FAILED, "no wheel", [attempt])
    assert (rejected.outcome, rejected.env_attempts) == (Outcome.ENVIRONMENT_FAILED, [attempt])
    assert rejected.with_detail("retried").outcome_detail == "retried"


def test_run_states_store_as_the_strings_they_were() -> None:
    run = TestRun(state="base", exit_code=0, duration_s=0.0, tests=0)
    assert run.state is RunState.BASE
    assert run.model_dump(mode="json")["state"] == "base"
    with pytest.raises(ValidationError):
        TestRun(state="during", exit_code=0, duration_s=0.0, tests=0)


def test_no_unvalidated_copies_in_the_packages() -> None:
    root = Path(__file__).resolve().parents[2]
    packages = ("pipeline", "extractors", "dockerfiles", "validators")
    offenders = [
        str(path.relative_to(root))
        for package in packages
        for path in (root / package).rglob("*.py")
        if "model_copy(update" in path.read_text().replace("``model_copy(update=...)``", "")
    ]
    assert offenders == [], "use Task's transitions or Record.revised, which validate"
