"""Prefect's own trouble goes to the run's log file, not over the progress bar.

A CLI process configures Prefect's logging as ``taskforge backfill`` does
(``prefect_logs.configure`` before Prefect is imported), imports Prefect as the flows do, and
makes Prefect's events worker fail for real: its API is a port nothing listens on, or its
client's ``emit`` raises (the ``Service 'EventsWorker' failed to process item Event(...)`` line
of a busy machine); and its log worker, which writes ``--- Error logging to API ---`` to stderr
itself when it cannot send. The terminal must stay clean and the log file must have the lines.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.orchestration.prefect_logs import LOG_NAME

RUN = """
import sys
from pathlib import Path
from pipeline.orchestration import prefect_logs
log = prefect_logs.configure(Path(sys.argv[1]))
import pipeline.orchestration.flows  # Prefect, imported as a backfill imports it
from prefect.events import emit_event
from prefect.events.clients import PrefectEventsClient
from prefect.events.worker import EventsWorker
if sys.argv[2] == "emit-raises":
    async def emit(self, event):
        raise ConnectionResetError("the API went away")
    PrefectEventsClient.emit = emit
    PrefectEventsClient.__aenter__ = lambda self: _entered(self)
    async def _entered(self):
        return self
    PrefectEventsClient.__aexit__ = lambda self, *a: _exited()
    async def _exited():
        return None
for number in range(3):
    emit_event(event="taskforge.test", resource={"prefect.resource.id": f"taskforge.{number}"})
if sys.argv[2] == "api-logs":  # a flow run's log, as sent when its server has stopped
    from prefect.logging.handlers import APILogWorker
    APILogWorker.instance().send(
        {"name": "prefect.flow_runs", "level": 40, "message": "Finished in state Failed",
         "timestamp": "2026-12-01T00:00:00+00:00", "flow_run_id": None, "task_run_id": None}
    )
prefect_logs.drain(timeout_s=30)
print("attention:", prefect_logs.attention_line(log))
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed when the block ends: nothing listens


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        ("closed-port", "Service 'EventsWorker' failed with"),
        ("emit-raises", "Service 'EventsWorker' failed to process item Event("),
        ("api-logs", "Service 'EventsWorker' failed with"),
    ],
)
def test_prefect_services_failures_stay_off_the_terminal(
    tmp_path: Path, mode: str, logged: str
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{closed_port()}/api",
        "PREFECT_LOGGING_SETTINGS_PATH": "",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(logs), mode],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing of Prefect's over a progress bar
    assert result.stdout.strip() == "attention: None"  # nothing the user must act on
    text = (logs / LOG_NAME).read_text()
    assert logged in text
    assert "ERROR" in text and "prefect._internal.concurrency" in text
