"""Tell infrastructure failures from task failures, by a table of signatures.

Only what the *engine* says is classified: an exception raised by docker-py or the HTTP layer
under it, or the error the runtime records on a container that never ran its command. A
test's own output is never searched, so a test that prints "No space left on device" or
"Cannot connect to the Docker daemon" is still a failing test, not infrastructure
(``tests/validators/test_infra.py`` holds both sides).

An infrastructure failure becomes ``InfrastructureError`` (a ``TransientError``): retried, reported
apart, never written as a rejected task.
"""

from __future__ import annotations

import enum
import re

import docker.errors
import requests

from pipeline.core.errors import TransientError


class InfraKind(enum.StrEnum):
    """The kinds of infrastructure failure, each with its signatures below."""

    ENGINE_DOWN = "engine_down"
    OUT_OF_DISK = "out_of_disk"
    IMAGE_MISSING = "image_missing"
    DAEMON_ERROR = "daemon_error"
    RUNTIME_ERROR = "runtime_error"
    KILLED_OUTSIDE = "killed_outside"  # SIGTERM/SIGKILL not sent by the sandbox: engine stopping


# (kind, pattern on the engine's message), first match wins.
SIGNATURES: list[tuple[InfraKind, re.Pattern[str]]] = [
    (InfraKind.OUT_OF_DISK, re.compile(r"no space left on device|disk quota exceeded", re.I)),
    (
        InfraKind.IMAGE_MISSING,
        re.compile(r"no such image|image .* not found|pull access denied", re.I),
    ),
    (
        InfraKind.ENGINE_DOWN,
        re.compile(
            r"connection (refused|aborted|reset)|cannot connect to the docker daemon"
            r"|no such file or directory.*docker\.sock|read timed out|broken pipe"
            r"|remote end closed connection",
            re.I,
        ),
    ),
    (InfraKind.RUNTIME_ERROR, re.compile(r"oci runtime|runc|containerd|shim", re.I)),
    (
        InfraKind.DAEMON_ERROR,
        re.compile(
            r"500 server error|internal server error"
            r"|context deadline exceeded|device or resource busy",
            re.I,
        ),
    ),
]


class InfrastructureError(TransientError):
    """The engine, the disk or the runtime failed during a run; ``kind`` says which."""

    def __init__(self, kind: InfraKind, detail: str) -> None:
        super().__init__(f"infrastructure ({kind.value}): {detail[:300]}")
        self.kind = kind


def classify_engine_error(error: BaseException) -> InfraKind | None:
    """The kind of an exception raised while talking to the engine, or None if not infra."""
    if not isinstance(error, (docker.errors.DockerException, requests.exceptions.RequestException)):
        return None  # a test's failure, whatever its words, is never infrastructure
    if isinstance(error, docker.errors.ImageNotFound):
        return InfraKind.IMAGE_MISSING
    message = str(error)
    for kind, pattern in SIGNATURES:
        if pattern.search(message):
            return kind
    if isinstance(error, requests.exceptions.ConnectionError):
        return InfraKind.ENGINE_DOWN
    if isinstance(error, docker.errors.APIError):
        return InfraKind.DAEMON_ERROR
    return None


def as_infrastructure(error: BaseException) -> InfrastructureError | None:
    """``error`` as an ``InfrastructureError`` when the signature table says so, else None."""
    kind = classify_engine_error(error)
    if kind is None:
        return None
    return InfrastructureError(kind, str(error).splitlines()[0] if str(error) else repr(error))
