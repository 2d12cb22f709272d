"""A run stopped with SIGTERM or Ctrl-C cleans up what it started, then exits at once.

A service manager, a scheduler or a user stops long backfills. The signal becomes a
``KeyboardInterrupt`` in the main thread, so the flow stops where it is and the ``with`` blocks
around it release the dataset lock and stop the Prefect server; then every test-run container
this process created (labelled with its pid) is removed, one line says so, and the process
exits with 128 + the signal's number without waiting for the validations still running in
worker threads. Nothing half-written is visible (shards are renamed into place) and the rerun
skips what was written; an image still in use is left labelled for the next run to remove
(``dockerfiles.discard``).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from types import FrameType

from pipeline.cli.console import console
from pipeline.core.errors import TaskforgeError

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def cleaned_up_on_stop() -> Iterator[None]:
    """Run the body; on SIGTERM or SIGINT remove this process's containers and exit."""
    stopped: list[int] = []

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in STOPPING_SIGNALS}
    try:
        yield
    except KeyboardInterrupt:
        pass  # raised by ``interrupt``, which noted the signal: ``finally`` cleans up and exits
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stopped:
            removed = remove_own_containers()
            console.print(
                f"[bold yellow]stopped:[/] removed {removed} test containers of this run; "
                "rerun the same command to continue where it stopped",
                highlight=False,
            )
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + stopped[0])  # worker threads are not waited for


def remove_own_containers() -> int:
    """Remove every test-run container this process created; the engine gone is no error."""
    import docker  # only when stopping: fast start
    import requests

    from pipeline.core.engine import docker_client
    from validators.sandbox import remove_own

    try:
        with closing(docker_client()) as client:
            return remove_own(client)
    except (TaskforgeError, docker.errors.DockerException, requests.exceptions.RequestException):
        return 0  # the engine is gone; the next run's remove_leftovers clears what is left
