"""Run one command over one source tree in a hardened, throw-away container.

Every test run: no network, all capabilities dropped, no-new-privileges, the image's
non-root user, memory / pids / CPU limits, a wall-clock limit enforced with a kill, output
capped (by the json-file log driver on disk and when read back), and the container always
removed. Containers carry the label ``taskforge=test-run`` so that left-overs of a crashed
run can be found and removed (``remove_leftovers``).

Engine failures (daemon down, API errors, a runtime that could not start the container) become
``InfrastructureError`` by ``validators.infra``'s signatures: retried, never a verdict on the
task. A single file is capped at ``file_bytes`` (RLIMIT_FSIZE), so a test cannot fill the disk
with one file; CPython ignores SIGXFSZ, so the write fails with EFBIG instead of killing it.

A run is prepared before its turn (``prepare_sandbox``: created, tree copied in, started) and
held by a gate: its shell waits for SIGUSR1 and then ``exec``s the command, which becomes the
container's first process as if started directly. ``run_prepared`` sends the signal, so only
the signal, the wait and reading the report are on the path; the clock and the time limit start
at the signal.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.types import LogConfig, Ulimit

from validators.infra import InfraKind, InfrastructureError, as_infrastructure

LABEL = {"taskforge": "test-run"}
KILLED_BY_SIGNAL = frozenset({128 + 9, 128 + 15})
ENGINE_ERRORS = (docker.errors.APIError, requests.exceptions.RequestException)
WAIT_SLICE_S = 30
READY = "taskforge-sandbox-ready"
# The trap is set before READY is printed, so the signal cannot come too early; a signal that
# lands between the test and ``wait`` still ends the wait, since the trap kills the sleep.
GATE = (
    "trap 'go=1; kill $held 2>/dev/null' USR1; "
    "sleep 2147483647 & held=$!; "
    f"echo {READY}; "
    '[ -n "$go" ] || wait $held; '
    'exec "$@"'
)


def owner_labels() -> dict[str, str]:
    """Host and pid of the creating process, read at each call (a fork labels with its own)."""
    return {"taskforge.host": socket.gethostname(), "taskforge.pid": str(os.getpid())}


def hardened_options(limits: SandboxLimits) -> dict[str, object]:
    """The container options every test run (and every RL environment) is created with."""
    return {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
        "labels": {**LABEL, **owner_labels()},
        "ulimits": [Ulimit(name="fsize", soft=limits.file_bytes, hard=limits.file_bytes)],
        "log_config": LogConfig(
            type="json-file", config={"max-size": str(limits.output_bytes), "max-file": "1"}
        ),
    }


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one test run; defaults documented in the README."""

    memory: str = "2g"
    pids: int = 512
    cpus: float = 1.0
    timeout_s: int = 900
    output_bytes: int = 2_000_000
    file_bytes: int = 1 << 30


@dataclass
class SandboxRun:
    """What one sandboxed command did: its exit, time, output and the files asked back."""

    exit_code: int
    timed_out: bool
    duration_s: float
    output: str
    files: dict[str, bytes] = field(default_factory=dict)  # what was asked back, if written
    oom_killed: bool = False
    container_id: str = ""


def run_sandboxed(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    command: list[str],
    environment: dict[str, str],
    collect: list[str],
    limits: SandboxLimits,
) -> SandboxRun:
    """Copy ``tree`` (a tar of ``repo/...``) to ``/``, run ``command`` in ``/repo``, clean up."""
    container = prepare_sandbox(client, image, tree, command, environment, limits)
    return run_prepared(container, collect, limits)


def prepare_sandbox(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    command: list[str],
    environment: dict[str, str],
    limits: SandboxLimits,
) -> Container:
    """A started container holding ``tree``, its command held at the gate.

    This is the part of a run that can be done while another run executes. Run it with
    ``run_prepared``, or remove it with ``discard``.
    """
    try:
        container = client.containers.create(
            image,
            ["sh", "-c", GATE, "taskforge-gate", *command],
            working_dir="/repo",
            environment=environment,
            **hardened_options(limits),
        )
    except ENGINE_ERRORS as error:
        raise infrastructure_error(error) from error
    try:
        container.put_archive("/", tree)
        container.start()
        _await_gate(container)
    except ENGINE_ERRORS as error:
        discard(container)
        raise infrastructure_error(error) from error
    except InfrastructureError:
        discard(container)
        raise
    return container


def _await_gate(container: Container, within_s: float = 60.0) -> None:
    """Return once the container's shell waits at the gate (READY on its output).

    Polled rather than followed: a followed log stream of docker-py leaves its socket to the
    garbage collector. This runs while another run executes, so its latency costs nothing.
    """
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if READY.encode() in container.logs(stdout=True, stderr=False, tail=5):
            return
        container.reload()
        if container.status in ("exited", "dead"):
            break
        time.sleep(0.01)
    detail = container.logs(tail=5).decode(errors="replace").strip()[-160:] or "no output"
    raise InfrastructureError(InfraKind.RUNTIME_ERROR, f"sandbox did not start: {detail}")


def run_prepared(
    container: Container,
    collect: list[str],
    limits: SandboxLimits,
    remove: Callable[[Container], object] | None = None,
) -> SandboxRun:
    """Open a prepared run's gate, wait for it (or kill it at the limit), read it, remove it.

    ``remove`` takes the finished container (default: ``discard`` it here and now); a caller
    with work queued can hand it to a background thread instead.
    """
    try:
        return _run(container, collect, limits)
    except ENGINE_ERRORS as error:
        raise infrastructure_error(error) from error
    finally:
        (remove or discard)(container)


def infrastructure_error(error: BaseException) -> InfrastructureError:
    """An engine error as infrastructure, by the signature table, else a daemon error."""
    return as_infrastructure(error) or InfrastructureError(InfraKind.DAEMON_ERROR, str(error))


def _run(container: Container, collect: list[str], limits: SandboxLimits) -> SandboxRun:
    started = time.monotonic()
    container.kill(signal="SIGUSR1")
    timed_out = not _exited_by(container, started + limits.timeout_s)
    if timed_out:
        container.kill()
        container.reload()
    duration = time.monotonic() - started
    state = container.attrs.get("State", {})
    exit_code = -1 if timed_out else int(state.get("ExitCode", -1))
    if state.get("Error"):
        raise InfrastructureError(InfraKind.RUNTIME_ERROR, str(state["Error"]))
    if not timed_out and not state.get("OOMKilled") and exit_code in KILLED_BY_SIGNAL:
        # Not our kill and not the memory limit: the engine stopping takes its containers down
        # with SIGTERM/SIGKILL. Retried as infrastructure rather than graded as a failure.
        raise InfrastructureError(InfraKind.KILLED_OUTSIDE, f"test run killed (exit {exit_code})")
    output = container.logs(stdout=True, stderr=True, tail=2000)[-limits.output_bytes :]
    files = {path: data for path in collect if (data := _read_file(container, path)) is not None}
    return SandboxRun(
        exit_code,
        timed_out,
        duration,
        output.decode(errors="replace").removeprefix(f"{READY}\n"),
        files,
        oom_killed=bool(state.get("OOMKilled")),
        container_id=container.id,
    )


def _exited_by(container: Container, deadline: float) -> bool:
    """Block until the container exits (True) or the deadline passes (False), then reload.

    ``wait`` returns the moment the container exits. Its request is cut into slices of at most
    ``WAIT_SLICE_S``: docker-py reports an HTTP read timeout on the unix socket as a
    ConnectionError, indistinguishable from the engine going away, so after each slice that
    ends that way the container is inspected: a running container means the slice simply ran
    out, an engine that is gone raises from the inspection.
    """
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            container.wait(timeout=max(0.1, min(remaining, WAIT_SLICE_S)))
        except requests.exceptions.ConnectionError:
            container.reload()  # raises when the engine is gone
            if container.status in ("exited", "dead"):
                return True
            continue
        container.reload()
        return True
    return False


def _read_file(container: Container, path: str) -> bytes | None:
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member is not None else None
        return extracted.read() if extracted is not None else None


def discard(container: Container) -> None:
    """Remove a container, whatever its state; an engine that is gone is no error here."""
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.APIError, requests.exceptions.RequestException):
        pass  # the engine is gone; remove_leftovers clears it at the next start


def remove_leftovers(client: docker.DockerClient) -> int:
    """Remove test-run containers that a crashed run on this host left behind.

    A container is a left-over when the process that created it (its ``taskforge.pid`` label,
    on this host) no longer runs; containers of other live runs are left alone.
    """
    # sparse: no per-container request, so one that another run removes meanwhile is no error
    labelled = client.containers.list(
        all=True, sparse=True, filters={"label": "taskforge=test-run"}
    )
    stale = [c for c in labelled if _owner_gone(c.attrs.get("Labels") or {})]
    for container in stale:
        discard(container)
    return len(stale)


def remove_own(client: docker.DockerClient) -> int:
    """Remove every test-run container this process created (a run being stopped)."""
    own = {"taskforge.host": socket.gethostname(), "taskforge.pid": str(os.getpid())}
    labels = ["taskforge=test-run", *(f"{k}={v}" for k, v in own.items())]
    found = client.containers.list(all=True, sparse=True, filters={"label": labels})
    for container in found:
        discard(container)
    return len(found)


def _owner_gone(labels: dict[str, str]) -> bool:
    if labels.get("taskforge.host") != socket.gethostname():
        return False  # another machine's run on a shared engine: not ours to judge
    try:
        pid = int(labels.get("taskforge.pid", ""))
        os.kill(pid, 0)
    except (ProcessLookupError, ValueError):
        return True
    except PermissionError:
        return False
    return False
