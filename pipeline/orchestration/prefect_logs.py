"""Prefect's own log output of a taskforge command: into the run's log file, off the terminal.

On a busy machine Prefect's services fail now and then (its events worker cannot reach the API
in time, say) and log it: ``Service 'EventsWorker' failed to process item Event(...)`` from
``prefect._internal.concurrency`` (prefect/_internal/concurrency/services.py), an ERROR line
several screens wide written to stderr over the progress bar, although the run and its dataset
are not affected. ``configure`` points Prefect's logging at ``prefect_logging.yml`` (beside
this module) through its own settings, before Prefect is imported: every Prefect logger (and
the root logger) writes to ``WORK/logs/prefect.log`` (``DatasetLayout.logs_dir``) and nothing
to the terminal. The Prefect server a command starts writes its own output to
``WORK/logs/prefect-server.log`` (``pipeline.orchestration.prefect_server``).

Two more of Prefect's lines reached the terminal: its log worker writes ``--- Error logging to
API ---`` straight to stderr when a batch cannot be sent, as at the exit of a command whose
server has stopped. So a command drains Prefect's event and log workers while its server still
answers (``drain``), and ``configure`` sets ``logging.raiseExceptions`` off, as the logging
documentation advises for code in production, which is what Prefect's worker asks before it
writes (prefect/logging/handlers.py ``APILogWorker._handle_batch``).

What may change what the user must do is counted by ``Attention`` (errors of any logger but
Prefect's internal services and the flow and task run loggers, whose failures reach the
command as its own outcome), so the command can end with one line naming the log file.
This module imports nothing of Prefect: Prefect's logging set-up imports it.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

SETTINGS_ENV = "PREFECT_LOGGING_SETTINGS_PATH"
FILE_ENV = "PREFECT_LOGGING_HANDLERS_FILE_FILENAME"  # Prefect's override of handlers.file.filename
LOG_NAME = "prefect.log"
SETTINGS = resources.files("pipeline.orchestration") / "prefect_logging.yml"
RUN_OUTCOME_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class Attention(logging.Handler):
    """Counts the errors that may need the user, and keeps the first one's message."""

    errors = 0
    first = ""

    def emit(self, record: logging.LogRecord) -> None:
        """Count ``record`` unless its logger reports a run's own outcome."""
        if record.name.startswith(RUN_OUTCOME_LOGGERS):
            return
        if not Attention.errors:
            Attention.first = record.getMessage().splitlines()[0][:120] if record.msg else ""
        Attention.errors += 1


def configure(logs_dir: Path) -> Path:
    """Send Prefect's log output in this process (and the processes it starts) to
    ``logs_dir/prefect.log``; returns that path. Call it before Prefect is imported. A
    logging configuration the user set (``PREFECT_LOGGING_SETTINGS_PATH``) is kept."""
    log = (logs_dir / LOG_NAME).resolve()
    if not os.environ.get(SETTINGS_ENV):
        os.environ[SETTINGS_ENV] = str(SETTINGS)
        os.environ[FILE_ENV] = str(log)
    logging.raiseExceptions = False  # no handler's trouble on stderr (Prefect's log worker's)
    return log


def drain(timeout_s: float = 10.0) -> None:
    """Send what Prefect's event and log workers still hold, while the server answers; call
    it before the server stops (it imports Prefect, so only once Prefect is in use)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=timeout_s)
    APILogWorker.drain_all(timeout=timeout_s)


def attention_line(log: Path) -> str | None:
    """The one line to end the command with when Prefect logged errors that may need the
    user; None when it logged none."""
    if not Attention.errors:
        return None
    return (
        f"Prefect logged {Attention.errors} errors of its own during the run "
        f"(first: {Attention.first}); see {log}"
    )
