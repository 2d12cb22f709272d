"""Predictions in, reports out: the files of ``taskforge evaluate``.

Predictions are SWE-bench's format, one JSON object per line: ``instance_id``,
``model_name_or_path``, ``model_patch`` (``null`` is an empty patch). A malformed line, a
missing field or an instance id predicted twice is a ``UserInputError`` naming the file and
the line.

Reports, under the report folder (``ReportLayout``)::

    DIR/<instance_id>.json   one instance: resolved, reason, per-test statuses, model name
    DIR/logs/<instance_id>.log   the test run's output
    DIR/summary.json         resolved count and rate, unresolved by reason, the ids of each

Every report is written to a temporary file and renamed (``replace_atomically``), so a killed
run leaves whole reports or none. A report is final — a rerun skips it — unless its reason is
``infrastructure`` (retried at the next run) or the prediction changed (model or patch).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from pipeline.core.errors import UserInputError
from pipeline.core.records import TestStatus
from pipeline.dataset.storage import replace_atomically
from validators.regrade import Grade, Resolution


class Prediction(BaseModel):
    """One model's patch for one task (SWE-bench's predictions format)."""

    instance_id: str = Field(min_length=1)
    model_name_or_path: str
    model_patch: str = ""

    @field_validator("model_patch", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def patch_sha256(self) -> str:
        """The SHA-256 of the model's patch, which keys a finished report."""
        return hashlib.sha256(self.model_patch.encode(errors="surrogatepass")).hexdigest()


class InstanceReport(BaseModel):
    """The grade of one prediction, as written to ``DIR/<instance_id>.json``."""

    instance_id: str
    model_name_or_path: str
    resolved: bool
    reason: Resolution
    detail: str
    FAIL_TO_PASS: dict[str, TestStatus | None]  # None: the test is not in the run's report
    PASS_TO_PASS: dict[str, TestStatus | None]
    attempts: int  # test runs started, infrastructure retries included
    test_duration_s: float
    duration_s: float  # the whole instance: tree, patches, test run
    model_patch_sha256: str
    evaluated_at: datetime

    @classmethod
    def of(
        cls, prediction: Prediction, grade: Grade, duration_s: float, at: datetime
    ) -> InstanceReport:
        """The report of one graded prediction."""
        return cls(
            instance_id=prediction.instance_id,
            model_name_or_path=prediction.model_name_or_path,
            resolved=grade.resolved,
            reason=grade.resolution,
            detail=grade.detail,
            FAIL_TO_PASS=grade.fail_to_pass,
            PASS_TO_PASS=grade.pass_to_pass,
            attempts=grade.attempts,
            test_duration_s=grade.duration_s,
            duration_s=round(duration_s, 3),
            model_patch_sha256=prediction.patch_sha256,
            evaluated_at=at,
        )


class EvaluationSummary(BaseModel):
    """Figures over every prediction of a predictions file, as ``DIR/summary.json``."""

    total_instances: int
    resolved_instances: int
    resolved_rate: float  # resolved / total
    unresolved: dict[Resolution, int]  # reason -> instances, every reason listed
    resolved_ids: list[str]
    unresolved_ids: dict[Resolution, list[str]]
    model_names: list[str]
    graded_now: int  # instances graded by this run; the rest were final already
    wall_time_s: float

    @property
    def infrastructure(self) -> int:
        """Predictions not graded for an infrastructure failure (a rerun grades them)."""
        return self.unresolved[Resolution.INFRASTRUCTURE]


def summarise(
    reports: list[InstanceReport], graded_now: int, wall_time_s: float
) -> EvaluationSummary:
    """The run's summary over every report, ``graded_now`` of them graded in this run."""
    reasons = [r for r in Resolution if r is not Resolution.RESOLVED]
    ids = {
        reason: sorted(r.instance_id for r in reports if r.reason is reason) for reason in reasons
    }
    resolved = sorted(r.instance_id for r in reports if r.resolved)
    return EvaluationSummary(
        total_instances=len(reports),
        resolved_instances=len(resolved),
        resolved_rate=round(len(resolved) / len(reports), 4) if reports else 0.0,
        unresolved={reason: len(found) for reason, found in ids.items()},
        resolved_ids=resolved,
        unresolved_ids=ids,
        model_names=sorted({r.model_name_or_path for r in reports}),
        graded_now=graded_now,
        wall_time_s=round(wall_time_s, 3),
    )


def read_predictions(path: Path) -> list[Prediction]:
    """Every prediction of a JSONL file, in order; one-line errors naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserInputError(f"predictions file {path} does not exist") from None
    except (IsADirectoryError, UnicodeDecodeError) as error:
        raise UserInputError(
            f"{path} is not a UTF-8 JSONL file ({error.__class__.__name__})"
        ) from None
    predictions: list[Prediction] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        prediction = _parse_line(path, number, line)
        if prediction.instance_id in seen:
            raise UserInputError(
                f"{path} line {number}: {prediction.instance_id} is already predicted on line "
                f"{seen[prediction.instance_id]}; keep one prediction per instance"
            )
        seen[prediction.instance_id] = number
        predictions.append(prediction)
    if not predictions:
        raise UserInputError(f"{path} holds no prediction (one JSON object per line)")
    return predictions


def _parse_line(path: Path, number: int, line: str) -> Prediction:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise UserInputError(f"{path} line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path} line {number}: a JSON object is expected")
    try:
        return Prediction.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "line"
        raise UserInputError(f"{path} line {number}: {where}: {problem['msg']}") from None


class ReportLayout:
    """Every path of a report folder, derived from its root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def summary_path(self) -> Path:
        """The run's ``summary.json``."""
        return self.root / "summary.json"

    def report_path(self, instance_id: str) -> Path:
        """Where the report of ``instance_id`` is written."""
        return self.root / f"{instance_id}.json"

    def log_path(self, instance_id: str) -> Path:
        """Where the test output of ``instance_id`` is written."""
        return self.root / "logs" / f"{instance_id}.log"

    def prepare(self) -> None:
        """Create the report folder; a file in its place is bad input."""
        if self.root.exists() and not self.root.is_dir():
            raise UserInputError(f"report folder {self.root} is a file; give a folder path")
        (self.root / "logs").mkdir(parents=True, exist_ok=True)

    def read(self, instance_id: str) -> InstanceReport | None:
        """The report of ``instance_id``; None when there is none or it cannot be read."""
        try:
            return InstanceReport.model_validate_json(self.report_path(instance_id).read_bytes())
        except (OSError, ValidationError):
            return None

    def is_final(self, prediction: Prediction) -> bool:
        """True when a rerun may skip ``prediction``: its report exists and still applies."""
        report = self.read(prediction.instance_id)
        return (
            report is not None
            and report.reason is not Resolution.INFRASTRUCTURE
            and report.model_name_or_path == prediction.model_name_or_path
            and report.model_patch_sha256 == prediction.patch_sha256
        )

    def write(self, report: InstanceReport, output: str) -> None:
        """Write one instance's report and its test output, each atomically."""
        log = output.encode(errors="replace")
        replace_atomically(self.log_path(report.instance_id), lambda handle: handle.write(log))
        text = report.model_dump_json(indent=2).encode()
        replace_atomically(self.report_path(report.instance_id), lambda h: h.write(text))

    def write_summary(self, summary: EvaluationSummary) -> None:
        """Write the run's summary atomically."""
        text = summary.model_dump_json(indent=2).encode()
        replace_atomically(self.summary_path, lambda handle: handle.write(text))
