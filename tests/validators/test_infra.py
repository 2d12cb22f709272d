"""The infrastructure signature table: engine failures are infra, test failures never are."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from validators.infra import InfraKind, as_infrastructure, classify_engine_error

ENGINE_ERRORS = [
    (
        requests.exceptions.ConnectionError(
            "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
        ),
        InfraKind.ENGINE_DOWN,
    ),
    (
        requests.exceptions.ConnectionError("UnixHTTPConnectionPool: Read timed out."),
        InfraKind.ENGINE_DOWN,
    ),
    (
        docker.errors.APIError(
            '500 Server Error: Internal Server Error ("write /var/lib/docker/'
            'overlay2/x: no space left on device")'
        ),
        InfraKind.OUT_OF_DISK,
    ),
    (docker.errors.ImageNotFound("No such image: taskforge-env/x:y"), InfraKind.IMAGE_MISSING),
    (
        docker.errors.APIError("500 Server Error: OCI runtime create failed: runc create failed"),
        InfraKind.RUNTIME_ERROR,
    ),
    (docker.errors.APIError("500 Server Error: context deadline exceeded"), InfraKind.DAEMON_ERROR),
    (docker.errors.APIError("409 Client Error: Conflict"), InfraKind.DAEMON_ERROR),
]


@pytest.mark.parametrize(("error", "kind"), ENGINE_ERRORS)
def test_engine_errors_are_infrastructure(error: Exception, kind: InfraKind) -> None:
    assert classify_engine_error(error) is kind
    infra = as_infrastructure(error)
    assert infra is not None and infra.kind is kind


GENUINE_TEST_FAILURES = [
    AssertionError("assert write() == 'ok': OSError: [Errno 28] No space left on device"),
    RuntimeError("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"),
    ValueError("500 Server Error in the test's own fake server"),
    ConnectionRefusedError("[Errno 111] Connection refused"),
]


@pytest.mark.parametrize("error", GENUINE_TEST_FAILURES)
def test_genuine_test_failures_are_never_infrastructure(error: Exception) -> None:
    assert classify_engine_error(error) is None
    assert as_infrastructure(error) is None
