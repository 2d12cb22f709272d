"""The sandbox in a real container: non-root, no network, no capabilities, killed on time."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time

import docker
import pytest

from dockerfiles.environment import Environment
from validators.sandbox import (
    SandboxLimits,
    SandboxRun,
    prepare_sandbox,
    remove_leftovers,
    run_prepared,
    run_sandboxed,
)

pytestmark = pytest.mark.docker


def _tree(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"repo/{path}")
            info.size, info.uid, info.gid = len(data), 1000, 1000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PROBE = """
import os, pathlib
print("uid", os.getuid())
print("interfaces", sorted(os.listdir("/sys/class/net")))
status = pathlib.Path("/proc/self/status").read_text()
print("capeff", [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0])
print("nonewprivs", [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0])
pathlib.Path("/tmp/out.txt").write_text("written")
"""


def _left(engine: docker.DockerClient, run: SandboxRun) -> list[object]:
    assert run.container_id
    return list(engine.containers.list(all=True, filters={"id": run.container_id}))


def test_hardened_and_removed(engine: docker.DockerClient, sample_env: Environment) -> None:
    run = run_sandboxed(
        engine,
        sample_env.image.tag,
        _tree({"probe.py": PROBE}),
        ["python", "probe.py"],
        {},
        ["/tmp/out.txt", "/tmp/absent"],
        SandboxLimits(timeout_s=60),
    )
    assert run.exit_code == 0, run.output
    assert "uid 1000" in run.output
    assert "interfaces ['lo']" in run.output  # no network but loopback
    assert "capeff 0000000000000000" in run.output
    assert "nonewprivs 1" in run.output
    assert run.files == {"/tmp/out.txt": b"written"}
    assert _left(engine, run) == []


def test_wall_clock_limit_kills(engine: docker.DockerClient, sample_env: Environment) -> None:
    run = run_sandboxed(
        engine,
        sample_env.image.tag,
        _tree({"x": ""}),
        ["sleep", "600"],
        {},
        [],
        SandboxLimits(timeout_s=2),
    )
    assert run.timed_out
    assert run.duration_s < 30
    assert _left(engine, run) == []


def test_output_is_capped(engine: docker.DockerClient, sample_env: Environment) -> None:
    command = ["python", "-c", "print('x' * 1_000_000)"]
    run = run_sandboxed(
        engine,
        sample_env.image.tag,
        _tree({"x": ""}),
        command,
        {},
        [],
        SandboxLimits(timeout_s=60, output_bytes=10_000),
    )
    assert run.exit_code == 0
    assert len(run.output) <= 10_000


def test_leftovers_of_dead_runs_are_removed(
    engine: docker.DockerClient, sample_env: Environment
) -> None:
    owner = {"taskforge": "test-run", "taskforge.host": socket.gethostname()}
    dead = engine.containers.create(
        sample_env.image.tag, ["true"], labels={**owner, "taskforge.pid": "999999999"}
    )
    alive = engine.containers.create(
        sample_env.image.tag, ["true"], labels={**owner, "taskforge.pid": str(os.getpid())}
    )
    try:
        assert remove_leftovers(engine) >= 1
        assert not engine.containers.list(all=True, filters={"id": dead.id})
        assert engine.containers.list(all=True, filters={"id": alive.id})
    finally:
        alive.remove(force=True)


def test_prepared_run_waits_at_the_gate_and_is_timed_from_it(
    engine: docker.DockerClient, sample_env: Environment
) -> None:
    marker = "python -c 'import os, time; print(\"pid\", os.getpid(), time.time())'"
    limits = SandboxLimits(timeout_s=60)
    box = prepare_sandbox(
        engine,
        sample_env.image.tag,
        _tree({"a.py": ""}),
        ["sh", "-c", f"exec {marker}"],
        {},
        limits,
    )
    box.reload()
    assert box.status == "running"  # started before its turn ...
    time.sleep(2)
    assert "pid" not in box.logs().decode()  # ... but the command is held at the gate
    opened = time.time()
    run = run_prepared(box, [], limits)
    assert run.exit_code == 0, run.output
    _, pid, printed = run.output.split()
    assert pid == "1"  # the command replaced the gate's shell as the first process
    assert float(printed) >= opened  # it ran after the gate opened, not at the start
    assert run.duration_s < 2  # the clock started at the gate, not when the container did
    assert _left(engine, run) == []
