"""Predictions files in SWE-bench's forms, instance reports, resumption and the summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.consumers.predictions import (
    GOLD,
    InstanceReport,
    Prediction,
    ReportLayout,
    gold_predictions,
    read_predictions,
    report_folder,
)
from pipeline.consumers.predictions import summarise as summarise_reports
from pipeline.core.errors import UserInputError
from pipeline.core.records import TestStatus
from tests.pipeline.factories import make_task
from validators.regrade import Grade, Resolution

GOOD = {"instance_id": "o__n-1", "model_name_or_path": "m", "model_patch": "diff --git a/x b/x\n"}
SECOND = {**GOOD, "instance_id": "o__n-2", "model_patch": None, "extra": 1}


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _ids_and_patches(path: Path) -> list[tuple[str, str]]:
    return [(p.instance_id, p.model_patch) for p in read_predictions(path).items]


def test_jsonl_predictions_are_read_in_order_and_null_is_an_empty_patch(tmp_path: Path) -> None:
    found = read_predictions(_write(tmp_path / "p.jsonl", json.dumps(GOOD), "", json.dumps(SECOND)))
    assert [p.instance_id for p in found.items] == ["o__n-1", "o__n-2"]
    assert found.items[1].model_patch == ""
    assert found.where("o__n-2") == f"{tmp_path / 'p.jsonl'} line 3"


def test_a_json_list_and_a_json_object_keyed_by_id_read_as_the_jsonl(tmp_path: Path) -> None:
    """SWE-bench's three file forms of the same predictions give the same predictions."""
    expected = [("o__n-1", GOOD["model_patch"]), ("o__n-2", "")]
    lines = _write(tmp_path / "p.jsonl", json.dumps(GOOD), json.dumps(SECOND))
    listed = _write(tmp_path / "list.json", json.dumps([GOOD, SECOND], indent=2))
    # SWE-agent's preds.json: values keyed by instance id, here one of them without the id
    keyed = {"o__n-1": GOOD, "o__n-2": {k: v for k, v in SECOND.items() if k != "instance_id"}}
    by_id = _write(tmp_path / "preds.json", json.dumps(keyed))
    assert _ids_and_patches(lines) == _ids_and_patches(listed) == expected
    assert _ids_and_patches(by_id) == expected
    assert read_predictions(listed).where("o__n-2") == f"{listed} [1]"
    assert read_predictions(by_id).where("o__n-2") == f'{by_id} key "o__n-2"'


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        (
            "p.jsonl",
            [json.dumps(GOOD), "{not json"],
            "p.jsonl line 2: not valid JSON (Expecting property name",
        ),
        ("p.jsonl", ["[1, 2]"], "p.jsonl line 1: a JSON object is expected (a list of"),
        (
            "p.jsonl",
            [json.dumps({"instance_id": "x"})],
            "p.jsonl line 1: model_name_or_path: Field required",
        ),
        ("p.jsonl", [json.dumps({**GOOD, "model_patch": 3})], "line 1: model_patch: Input should"),
        ("p.jsonl", [json.dumps(GOOD), json.dumps(GOOD)], "line 2: o__n-1 is already predicted on"),
        ("p.jsonl", ['{"instance_id": "a", "instance_id": "b"}'], 'line 1: key "instance_id" app'),
        ("p.jsonl", [""], "p.jsonl holds no prediction (a .jsonl file"),
        ("p.json", ["[", "{]"], "p.json: not valid JSON (Expecting property name enclosed in"),
        ("p.json", [json.dumps(GOOD), json.dumps(SECOND)], "(Extra data at line 2 column 1); one"),
        ("p.json", [json.dumps([GOOD, 3])], "p.json [1]: a JSON object is expected"),
        ("p.json", [json.dumps([{"model_name_or_path": "m"}])], "[0]: instance_id: Field required"),
        ("p.json", [json.dumps([GOOD, GOOD])], "p.json [1]: o__n-1 is already predicted at [0]"),
        ("p.json", [json.dumps("x")], "p.json: a list of predictions or an object keyed by"),
        ("p.json", [json.dumps(GOOD)], "p.json holds one prediction: a .json file holds a list"),
        ("p.json", [json.dumps({"o__n-1": "diff"})], 'p.json key "o__n-1": a JSON object is exp'),
        (
            "p.json",
            [json.dumps({"o__n-9": GOOD})],
            'p.json key "o__n-9": instance_id "o__n-1" differs from its key',
        ),
        ("p.json", [f'{{"o__n-1": {json.dumps(GOOD)}, "o__n-1": {{}}}}'], 'key "o__n-1" appears'),
        (
            "p.json",
            [json.dumps({"o__n-1": {"model_patch": ""}})],
            'p.json key "o__n-1": model_name_or_path: Field required',
        ),
        ("p.json", ["[]"], "p.json holds no prediction"),
        ("p.txt", [json.dumps(GOOD)], "p.txt: predictions are a .jsonl file (one object per line)"),
    ],
)
def test_bad_predictions_name_the_file_and_the_place(
    tmp_path: Path, name: str, lines: list[str], message: str
) -> None:
    with pytest.raises(UserInputError) as raised:
        read_predictions(_write(tmp_path / name, *lines))
    assert message in str(raised.value)
    assert str(tmp_path / name) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_predictions_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"predictions file .* does not exist"):
        read_predictions(tmp_path / "nope.jsonl")


def test_gold_is_each_tasks_fix_by_model_gold_and_a_filter_keeps_order() -> None:
    tasks = [make_task(1), make_task(2)]
    gold = gold_predictions(tasks)
    assert [(p.instance_id, p.model_name_or_path) for p in gold.items] == [
        ("o__n-1", GOLD),
        ("o__n-2", GOLD),
    ]
    assert [p.model_patch for p in gold.items] == [t.patch for t in tasks]
    assert gold.where("o__n-1") == "gold"
    kept = gold.only(["o__n-2", "o__n-7"])
    assert [p.instance_id for p in kept.items] == ["o__n-2"]
    assert gold.missing(["o__n-7", "o__n-2", "o__n-7"]) == ["o__n-7"]


def test_the_report_folder_is_given_or_swe_benchs_log_folder_of_the_run(tmp_path: Path) -> None:
    assert report_folder(tmp_path / "r", "run-1") == tmp_path / "r"
    assert report_folder(None, "gold.v2_x") == Path("logs/run_evaluation/gold.v2_x")
    with pytest.raises(UserInputError, match=r"give --run-id NAME \(reports to logs/run_eval"):
        report_folder(None, None)
    for bad in ("../up", "a/b", "", ".hidden"):
        with pytest.raises(UserInputError, match="a run id is letters, digits"):
            report_folder(tmp_path, bad)


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


def _predicted(n: int, patch: str = "diff") -> Prediction:
    return Prediction.model_validate({**GOOD, "instance_id": f"o__n-{n}", "model_patch": patch})


def test_summary_has_swe_benchs_id_lists_and_the_reasons_beside_them() -> None:
    predictions = [_predicted(n) for n in range(6)] + [_predicted(6, patch="")]
    outcomes = [
        Resolution.RESOLVED,
        Resolution.RESOLVED,
        Resolution.TESTS_FAIL,
        Resolution.TIMEOUT,
        Resolution.PATCH_DOES_NOT_APPLY,
        Resolution.INFRASTRUCTURE,
        Resolution.TESTS_FAIL,
    ]
    reports = {p.instance_id: _report(p, r) for p, r in zip(predictions, outcomes, strict=True)}
    del reports["o__n-4"]  # a report that could not be read: an error, as in SWE-bench
    summary = summarise_reports(
        predictions,
        reports,
        run_id="run-1",
        incomplete_ids=["o__n-9", "o__n-8"],
        graded_now=3,
        wall_time_s=1.23456,
    )
    assert (summary.total_instances, summary.submitted_instances) == (7, 7)
    assert (summary.resolved_instances, summary.resolved_rate) == (2, 0.2857)
    assert summary.submitted_ids == [f"o__n-{n}" for n in range(7)]
    assert summary.resolved_ids == ["o__n-0", "o__n-1"]
    assert summary.unresolved_ids == ["o__n-2", "o__n-3", "o__n-6"]
    assert summary.error_ids == ["o__n-4", "o__n-5"]
    assert summary.completed_ids == ["o__n-0", "o__n-1", "o__n-2", "o__n-3", "o__n-6"]
    assert summary.empty_patch_ids == ["o__n-6"]
    assert summary.incomplete_ids == ["o__n-8", "o__n-9"]
    assert summary.unresolved == {
        Resolution.PATCH_DOES_NOT_APPLY: 0,
        Resolution.TESTS_FAIL: 2,
        Resolution.TIMEOUT: 1,
        Resolution.INFRASTRUCTURE: 1,
    }
    assert summary.unresolved_by_reason[Resolution.TESTS_FAIL] == ["o__n-2", "o__n-6"]
    assert summary.unresolved_by_reason[Resolution.INFRASTRUCTURE] == ["o__n-5"]
    assert (summary.model_names, summary.wall_time_s, summary.infrastructure) == (["m"], 1.235, 1)

    written = json.loads(summary.model_dump_json())
    assert written["run_id"] == "run-1"
    assert written["unresolved_ids"] == ["o__n-2", "o__n-3", "o__n-6"]
    assert written["unresolved_by_reason"]["timeout"] == ["o__n-3"]
    counts = ("completed", "resolved", "unresolved", "error", "empty_patch", "submitted")
    for name in counts:
        assert written[f"{name}_instances"] == len(written[f"{name}_ids"])


def test_a_summary_of_nothing_rates_zero() -> None:
    summary = summarise_reports([], {}, graded_now=0, wall_time_s=0)
    assert (summary.total_instances, summary.resolved_rate, summary.run_id) == (0, 0.0, None)
