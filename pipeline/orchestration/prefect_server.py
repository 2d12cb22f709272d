"""Prefect's API for one CLI run, started early so that it boots while the run loads.

Without ``PREFECT_API_URL``, Prefect starts an ephemeral server when the first flow begins: it
imports the whole server in the calling process (about 2.3 s here), then waits for a subprocess
to boot (about 3.7 s), and only then runs the first task. ``local_api`` starts the same server
with Prefect's own command (``prefect server start``, no UI, no background services) as soon as
the input is checked; it boots in about 3.2 s while the CLI imports its flows, and the CLI
process never imports the server. Its log goes to the dataset's work folder
(``WORK/logs/prefect-server.log``, ``DatasetLayout.logs_dir``); it is stopped when the run
ends, however it ends. With ``PREFECT_API_URL`` set, the server named there is used and nothing
is started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pipeline.core.errors import TransientError

STARTUP_TIMEOUT_S = 90.0


@contextmanager
def local_api(
    log_path: Path, home: Path | None = None, services: bool = False
) -> Iterator[Callable[[], None]]:
    """Start a server and point ``PREFECT_API_URL`` at it; stop it on the way out.

    Yields the function that waits until the server answers, so the caller can do other work
    (import its flows) while it boots. ``home`` gives the server its own ``PREFECT_HOME`` (its
    database); ``services`` runs the scheduler and the other background services, as a
    long-lived server for deployments does.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield lambda: None
        return
    port = _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [*_prefect_command(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-ui", "--log-level", "WARNING"] + ([] if services else ["--no-services"])
    environment = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # offline
    if home is not None:
        environment["PREFECT_HOME"] = str(home)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = url
    try:
        yield lambda: _wait_ready(process, url, log_path)
    finally:
        del os.environ["PREFECT_API_URL"]
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Block until the server answers its health check; a server that dies is an error."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise TransientError(
                    f"Prefect's API server exited while starting (code {process.returncode}); "
                    f"see {log_path}"
                )
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise TransientError(f"Prefect's API server did not answer in {STARTUP_TIMEOUT_S:.0f} s")


def _prefect_command() -> list[str]:
    beside = Path(sys.executable).parent / "prefect"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
