"""The run's own Prefect API server: started, answering, pointed at, and stopped."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest

from pipeline.core.errors import TransientError
from pipeline.orchestration import prefect_server
from pipeline.orchestration.prefect_server import local_api


def test_server_answers_and_is_stopped_after_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    log = tmp_path / "logs" / "prefect-server.log"
    with local_api(log) as wait_ready:
        url = os.environ["PREFECT_API_URL"]
        wait_ready()
        assert httpx.get(f"{url}/health", timeout=5).json() is True
    assert "PREFECT_API_URL" not in os.environ
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/health", timeout=2)
    assert log.read_text().strip()  # the server's own output is kept (in the work folder's logs)


def test_a_given_api_url_is_used_and_nothing_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    with local_api(tmp_path / "server.log") as wait_ready:
        wait_ready()
        assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"
    assert not (tmp_path / "server.log").exists()


def test_a_server_that_cannot_start_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with socket.socket() as taken:  # another process took the port first
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(prefect_server, "_free_port", lambda: taken.getsockname()[1])
        log = tmp_path / "server.log"
        with (
            pytest.raises(TransientError, match="exited while starting") as raised,
            local_api(log) as wait_ready,
        ):
            wait_ready()
    assert str(log) in str(raised.value)
    assert "\n" not in str(raised.value)
