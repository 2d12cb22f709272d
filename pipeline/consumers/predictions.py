"""Predictions in, reports out: the files of ``taskforge evaluate``.

Predictions come in every form SWE-bench's harness reads (``get_predictions_from_file``,
swebench 5.x), each prediction an object of ``instance_id``, ``model_name_or_path`` and
``model_patch`` (``null`` is an empty patch; other keys are ignored):

- ``FILE.jsonl``: one object per line (blank lines skipped);
- ``FILE.json``: a list of objects, or an object keyed by instance id whose values are
  predictions (SWE-agent's ``preds.json``): a value without ``instance_id`` takes its key, a
  value whose ``instance_id`` differs from its key is an error;
- ``gold``: the dataset's own fix ``patch`` of every verified task, model ``gold``
  (``gold_predictions``). A file is told apart by its suffix, so ``gold.jsonl`` is a file.

Anything else — another suffix, a line or a document that is not JSON, an item that is not an
object, a missing or mistyped field, an instance id predicted twice, a key given twice in one
object — is a ``UserInputError`` of one line naming the file and where: ``line N`` (JSONL),
``[N]`` (the N-th item of a JSON list, from 0) or ``key "ID"`` (a JSON object).

Reports, under the report folder (``ReportLayout``; with ``--run-id NAME`` and no ``--report``,
``logs/run_evaluation/NAME/`` of the working folder, SWE-bench's ``RUN_EVALUATION_LOG_DIR``)::

    DIR/<instance_id>.json   one instance: resolved, reason, per-test statuses, model name
    DIR/logs/<instance_id>.log   the test run's output
    DIR/summary.json         figures and id lists of the run (``EvaluationSummary``)

Every report is written to a temporary file and renamed (``replace_atomically``), so a killed
run leaves whole reports or none. A report is final — a rerun skips it — unless its reason is
``infrastructure`` (retried at the next run) or the prediction changed (model or patch).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from pipeline.core.errors import UserInputError
from pipeline.core.records import Task, TestStatus
from pipeline.dataset.storage import replace_atomically
from validators.regrade import Grade, Resolution

GOLD: Final = "gold"  # --predictions gold, and the model name of its predictions (SWE-bench's)
PredictionsSource = Path | Literal["gold"]
RUN_EVALUATION_LOG_DIR = Path("logs/run_evaluation")  # SWE-bench's, under the working folder
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a run id names a folder
FORMS = "a .jsonl file (one object per line) or a .json file (a list, or an object keyed by id)"


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


@dataclass(frozen=True)
class Predictions:
    """The predictions of one run, in the order read, and where each was read."""

    source: str  # the file, or "gold"
    items: list[Prediction]
    places: dict[str, str]  # instance id -> "line 3", "[2]" or 'key "ID"'; none for gold

    def where(self, instance_id: str) -> str:
        """The file and the place of ``instance_id``'s prediction, for an error message."""
        place = self.places.get(instance_id)
        return f"{self.source} {place}" if place else self.source

    def only(self, instance_ids: Iterable[str]) -> Predictions:
        """The predictions of ``instance_ids`` alone."""
        wanted = set(instance_ids)
        kept = [p for p in self.items if p.instance_id in wanted]
        places = {i: place for i, place in self.places.items() if i in wanted}
        return Predictions(self.source, kept, places)

    def missing(self, instance_ids: Iterable[str]) -> list[str]:
        """Those of ``instance_ids`` without a prediction, in order."""
        predicted = {p.instance_id for p in self.items}
        return [i for i in dict.fromkeys(instance_ids) if i not in predicted]


def gold_predictions(tasks: Iterable[Task]) -> Predictions:
    """SWE-bench's ``gold`` predictions: each task's own fix ``patch``, by model ``gold``."""
    items = [
        Prediction(instance_id=t.instance_id, model_name_or_path=GOLD, model_patch=t.patch)
        for t in tasks
    ]
    return Predictions(GOLD, items, {})


def read_predictions(path: Path) -> Predictions:
    """Every prediction of a ``.jsonl`` or ``.json`` file; one-line errors naming the place."""
    if path.suffix not in (".jsonl", ".json"):
        raise UserInputError(f"{path}: predictions are {FORMS}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"predictions file {path} does not exist") from None
    except (IsADirectoryError, UnicodeDecodeError) as error:
        raise UserInputError(
            f"{path} is not a UTF-8 JSON file ({error.__class__.__name__})"
        ) from None
    objects = _json_lines(path, text) if path.suffix == ".jsonl" else _json_document(path, text)
    items: list[Prediction] = []
    places: dict[str, str] = {}
    for place, data in objects:
        prediction = _validated(path, place, data)
        first = places.get(prediction.instance_id)
        if first is not None:
            raise UserInputError(
                f"{path} {place}: {prediction.instance_id} is already predicted "
                f"{'on' if first.startswith('line') else 'at'} {first}; keep one prediction "
                "per instance"
            )
        places[prediction.instance_id] = place
        items.append(prediction)
    if not items:
        raise UserInputError(f"{path} holds no prediction ({FORMS})")
    return Predictions(str(path), items, places)


def _parse(path: Path, where: str, text: str) -> Any:
    """``text`` as JSON; ``where`` is the file, or the file and its line."""

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:  # json would keep the last one silently
                raise UserInputError(f'{where}: key "{key}" appears twice in one object')
            found[key] = value
        return found

    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        hint = ""
        if error.msg == "Extra data" and path.suffix == ".json":
            hint = "; one object per line is a .jsonl file"
        at = "" if where != str(path) else f" at line {error.lineno} column {error.colno}"
        raise UserInputError(f"{where}: not valid JSON ({error.msg}{at}){hint}") from None


def _json_lines(path: Path, text: str) -> list[tuple[str, Any]]:
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        data = _parse(path, f"{path} line {number}", line)
        if not isinstance(data, dict):
            hint = " (a list of predictions is a .json file)" if isinstance(data, list) else ""
            raise UserInputError(f"{path} line {number}: a JSON object is expected{hint}")
        objects.append((f"line {number}", data))
    return objects


def _json_document(path: Path, text: str) -> list[tuple[str, Any]]:
    data = _parse(path, str(path), text)
    if isinstance(data, list):
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise UserInputError(f"{path} [{index}]: a JSON object is expected")
        return [(f"[{index}]", item) for index, item in enumerate(data)]
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: a list of predictions or an object keyed by instance id")
    if data and not all(isinstance(v, dict) for v in data.values()) and "instance_id" in data:
        raise UserInputError(
            f"{path} holds one prediction: a .json file holds a list of them or an object "
            "keyed by instance id"
        )
    return [(f'key "{key}"', _keyed(path, key, value)) for key, value in data.items()]


def _keyed(path: Path, key: str, value: Any) -> dict[str, Any]:
    """A value of an object keyed by instance id, which takes its key as ``instance_id``."""
    if not isinstance(value, dict):
        raise UserInputError(f'{path} key "{key}": a JSON object is expected')
    stated = value.get("instance_id", key)
    if stated != key:
        raise UserInputError(
            f'{path} key "{key}": instance_id {json.dumps(stated)} differs from its key'
        )
    return {**value, "instance_id": key}


def _validated(path: Path, place: str, data: dict[str, Any]) -> Prediction:
    try:
        return Prediction.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise UserInputError(f"{path} {place}: {field}: {problem['msg']}") from None


def report_folder(report_dir: Path | None, run_id: str | None) -> Path:
    """``report_dir``, else ``logs/run_evaluation/RUN_ID`` (SWE-bench's); bad input otherwise."""
    if run_id is not None and not RUN_ID.fullmatch(run_id):
        raise UserInputError(
            f"--run-id {run_id!r}: a run id is letters, digits, '.', '_' and '-' (it names a "
            "folder)"
        )
    if report_dir is not None:
        return report_dir
    if run_id is None:
        raise UserInputError(
            f"give --run-id NAME (reports to {RUN_EVALUATION_LOG_DIR}/NAME/) or --report DIR"
        )
    return RUN_EVALUATION_LOG_DIR / run_id


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
    """Figures over every prediction of a run, as ``DIR/summary.json``.

    The ``*_ids`` lists and their ``*_instances`` counts are those of SWE-bench's run report
    (``make_run_report``), with its meanings: ``submitted`` every prediction of the run;
    ``completed`` graded to a verdict, each ``resolved`` or ``unresolved``; ``error`` not
    graded (an infrastructure failure after retries, or no readable report; a rerun grades
    them); ``empty_patch`` an empty ``model_patch``; ``incomplete`` verified tasks in scope
    (``--instance``, else the whole dataset) without a prediction. Where taskforge differs:
    a patch that does not apply and a timeout are final verdicts (``unresolved``), where
    SWE-bench counts both as errors; an empty patch is graded too, so it is also resolved or
    unresolved; ``total_instances`` is the number of predictions, where SWE-bench counts the
    dataset's instances.
    """

    run_id: str | None  # --run-id
    total_instances: int
    submitted_instances: int
    completed_instances: int
    resolved_instances: int
    unresolved_instances: int
    error_instances: int
    empty_patch_instances: int
    resolved_rate: float  # resolved / total
    unresolved: dict[Resolution, int]  # not resolved, by reason (infrastructure: the errors)
    unresolved_by_reason: dict[Resolution, list[str]]  # the ids behind ``unresolved``
    submitted_ids: list[str]
    completed_ids: list[str]
    resolved_ids: list[str]
    unresolved_ids: list[str]
    error_ids: list[str]
    empty_patch_ids: list[str]
    incomplete_ids: list[str]
    model_names: list[str]
    graded_now: int  # instances graded by this run; the rest were final already
    wall_time_s: float

    @property
    def infrastructure(self) -> int:
        """Predictions not graded for an infrastructure failure (a rerun grades them)."""
        return self.unresolved[Resolution.INFRASTRUCTURE]


def summarise(
    predictions: list[Prediction],
    reports: Mapping[str, InstanceReport],
    *,
    run_id: str | None = None,
    incomplete_ids: Iterable[str] = (),
    graded_now: int,
    wall_time_s: float,
) -> EvaluationSummary:
    """The summary of a run's ``predictions`` from their ``reports`` (by instance id)."""
    found = [reports[p.instance_id] for p in predictions if p.instance_id in reports]
    by_reason = {
        reason: sorted(r.instance_id for r in found if r.reason is reason)
        for reason in Resolution
        if reason is not Resolution.RESOLVED
    }
    submitted = sorted(p.instance_id for p in predictions)
    resolved = sorted(r.instance_id for r in found if r.resolved)
    errors = set(by_reason[Resolution.INFRASTRUCTURE]) | {
        p.instance_id for p in predictions if p.instance_id not in reports
    }
    completed = [i for i in submitted if i not in errors]
    unresolved = sorted(set(completed) - set(resolved))
    empty = sorted(p.instance_id for p in predictions if not p.model_patch)
    return EvaluationSummary(
        run_id=run_id,
        total_instances=len(submitted),
        submitted_instances=len(submitted),
        completed_instances=len(completed),
        resolved_instances=len(resolved),
        unresolved_instances=len(unresolved),
        error_instances=len(errors),
        empty_patch_instances=len(empty),
        resolved_rate=round(len(resolved) / len(submitted), 4) if submitted else 0.0,
        unresolved={reason: len(ids) for reason, ids in by_reason.items()},
        unresolved_by_reason=by_reason,
        submitted_ids=submitted,
        completed_ids=completed,
        resolved_ids=resolved,
        unresolved_ids=unresolved,
        error_ids=sorted(errors),
        empty_patch_ids=empty,
        incomplete_ids=sorted(set(incomplete_ids)),
        model_names=sorted({p.model_name_or_path for p in predictions}),
        graded_now=graded_now,
        wall_time_s=round(wall_time_s, 3),
    )


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
