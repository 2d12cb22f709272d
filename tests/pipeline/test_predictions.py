"""Predictions files, instance reports, resumption and the summary, without Docker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.consumers.predictions import (
    InstanceReport,
    Prediction,
    ReportLayout,
    read_predictions,
)
from pipeline.consumers.predictions import summarise as summarise_reports
from pipeline.core.errors import UserInputError
from pipeline.core.records import TestStatus
from validators.regrade import Grade, Resolution

GOOD = {"instance_id": "o__n-1", "model_name_or_path": "m", "model_patch": "diff --git a/x b/x\n"}


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_predictions_are_read_in_order_and_null_is_an_empty_patch(tmp_path: Path) -> None:
    second = {**GOOD, "instance_id": "o__n-2", "model_patch": None, "extra": 1}
    found = read_predictions(_write(tmp_path / "p.jsonl", json.dumps(GOOD), "", json.dumps(second)))
    assert [p.instance_id for p in found] == ["o__n-1", "o__n-2"]
    assert found[1].model_patch == ""


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [json.dumps(GOOD), "{not json"],
            "p.jsonl line 2: not valid JSON (Expecting property name",
        ),
        (["[1, 2]"], "p.jsonl line 1: a JSON object is expected"),
        ([json.dumps({"instance_id": "x"})], "p.jsonl line 1: model_name_or_path: Field required"),
        ([json.dumps({**GOOD, "model_patch": 3})], "line 1: model_patch: Input should be a valid"),
        ([json.dumps(GOOD), json.dumps(GOOD)], "line 2: o__n-1 is already predicted on line 1"),
        ([""], "holds no prediction"),
    ],
)
def test_bad_predictions_name_the_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(UserInputError) as raised:
        read_predictions(_write(tmp_path / "p.jsonl", *lines))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_predictions_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"predictions file .* does not exist"):
        read_predictions(tmp_path / "nope.jsonl")


def _report(prediction: Prediction, resolution: Resolution) -> InstanceReport:
    grade = Grade(resolution, "why", {"t::a": TestStatus.PASSED}, {"t::b": None}, 1.5, 1, "out")
    return InstanceReport.of(prediction, grade, 2.0, datetime(2024, 1, 2, tzinfo=UTC))


def test_a_report_is_final_unless_infrastructure_or_the_prediction_changed(tmp_path: Path) -> None:
    layout = ReportLayout(tmp_path / "reports")
    layout.prepare()
    prediction = Prediction.model_validate(GOOD)
    assert not layout.is_final(prediction)  # no report yet
    layout.write(_report(prediction, Resolution.TESTS_FAIL), "pytest output")
    assert layout.is_final(prediction)
    assert layout.log_path("o__n-1").read_text() == "pytest output"
    assert not layout.is_final(prediction.model_copy(update={"model_patch": "other"}))
    assert not layout.is_final(prediction.model_copy(update={"model_name_or_path": "m2"}))
    layout.write(_report(prediction, Resolution.INFRASTRUCTURE), "")
    assert not layout.is_final(prediction)
    layout.report_path("o__n-1").write_text('{"instance_id": "o__n-1", "resol')  # cut short
    assert not layout.is_final(prediction)
    assert [p.name for p in layout.root.iterdir() if p.name.startswith(".")] == []


def test_report_json_has_statuses_and_null_for_missing_tests() -> None:
    report = _report(Prediction.model_validate(GOOD), Resolution.TESTS_FAIL)
    data = json.loads(report.model_dump_json())
    assert data["FAIL_TO_PASS"] == {"t::a": "passed"} and data["PASS_TO_PASS"] == {"t::b": None}
    assert (data["resolved"], data["reason"]) == (False, "tests_fail")


def test_summary_counts_every_reason_and_lists_ids() -> None:
    reports = [
        _report(Prediction.model_validate({**GOOD, "instance_id": f"o__n-{n}"}), resolution)
        for n, resolution in enumerate(
            [Resolution.RESOLVED, Resolution.RESOLVED, Resolution.TESTS_FAIL, Resolution.TIMEOUT]
        )
    ]
    summary = summarise_reports(reports, graded_now=3, wall_time_s=1.23456)
    assert (summary.total_instances, summary.resolved_instances) == (4, 2)
    assert summary.resolved_rate == 0.5
    assert summary.unresolved == {
        Resolution.PATCH_DOES_NOT_APPLY: 0,
        Resolution.TESTS_FAIL: 1,
        Resolution.TIMEOUT: 1,
        Resolution.INFRASTRUCTURE: 0,
    }
    assert summary.resolved_ids == ["o__n-0", "o__n-1"]
    assert summary.unresolved_ids[Resolution.TIMEOUT] == ["o__n-3"]
    assert (summary.model_names, summary.wall_time_s, summary.infrastructure) == (["m"], 1.235, 0)
