"""Verdicts a backfill decides itself, outside the validator: environments that failed, and
retries with every extra merged with the first verdict (``dockerfiles.extras_retry``)."""

from __future__ import annotations

from collections.abc import Mapping

from dockerfiles.environment import EnvironmentFailed
from dockerfiles.extras_retry import after_retry
from pipeline.core.errors import MissingObjectError
from pipeline.core.records import Outcome, Task

DETAIL_CHARS = 2000  # outcome_detail is one line a reader scans, not a log
RETRY_REASON_CHARS = 300


def environment_failures(
    candidates: list[Task], error: EnvironmentFailed | MissingObjectError
) -> list[Task]:
    """Every candidate of a group whose environment could not be built, rejected with why.

    A missing git object is ``missing_object``; any other failure is ``environment_failed``,
    with the attempts the fallback chain made.
    """
    if isinstance(error, MissingObjectError):
        outcome, attempts = Outcome.MISSING_OBJECT, []
    else:
        outcome, attempts = Outcome.ENVIRONMENT_FAILED, error.attempts
    detail = str(error)[:DETAIL_CHARS]
    return [c.rejected(outcome, detail, attempts) for c in candidates]


def retry_not_built(
    first: Mapping[str, Task], originals: list[Task], extras: list[str], error: Exception
) -> list[Task]:
    """The first verdicts of candidates whose every-extra environment did not build, noted."""
    why = str(error)[:RETRY_REASON_CHARS]
    return [after_retry(first[c.instance_id], None, extras, why) for c in originals]


def settled(result: Task, first: Mapping[str, Task] | None) -> Task:
    """A retried candidate's result merged with its first verdict; any other result as it is."""
    if not first or result.instance_id not in first:
        return result
    extras = result.install_config.extras if result.install_config else []
    return after_retry(first[result.instance_id], result, extras)
