"""The test command of a run: reinstall the project from the tree, run pytest, note the cost.

The image holds the dependencies; the project itself is installed from the task's own tree
(``uv pip install --offline --no-deps -e .``, pip where the image has no uv), then the local
path requirements the image names in ``TASKFORGE_LOCAL_REQUIREMENTS``; where that fails,
PYTHONPATH still puts the tree first. Coverage is switched off where pytest-cov is installed
(``--no-cov``): a ``--cov-fail-under`` in the project's ``addopts`` judges the whole suite and
fails any run of a few files. pytest writes JUnit XML (``junit_family=xunit1``, which
carries each test's file). After pytest, the container's peak memory is read from its cgroup
(v2 ``memory.peak``, else v1 ``memory.max_usage_in_bytes``) and printed as the output's last
line, so a run costs one archive read (the report) besides its logs. Repeats vary the order
of the test files and PYTHONHASHSEED, which is what plain pytest allows without plugins.
"""

from __future__ import annotations

import docker
from docker.models.containers import Container

from validators.grading import RunResult
from validators.junit import parse_report
from validators.sandbox import SandboxLimits, SandboxRun, prepare_sandbox, run_prepared

OUTPUT_DIR = "/home/taskforge/.taskforge"
REPORT_PATH = f"{OUTPUT_DIR}/report.xml"
PEAK_MARKER = "taskforge-peak-memory:"
COLLECT = [REPORT_PATH]  # what a run's container is asked for after it exits
# The project, then its local requirements (TASKFORGE_LOCAL_REQUIREMENTS, set by the image),
# from the tree, offline, without dependencies: with uv, or pip on Pythons uv does not serve.
SCRIPT = (
    f"mkdir -p {OUTPUT_DIR}; "
    "tf_install() { if command -v uv >/dev/null; "
    'then uv pip install --quiet --offline --no-deps --no-build-isolation "$@"; '
    'else python -m pip install --quiet --no-index --no-deps --no-build-isolation "$@"; fi; }; '
    f"tf_install -e . >{OUTPUT_DIR}/install.log 2>&1 "
    "|| echo 'taskforge: project not reinstalled; running from PYTHONPATH' >&2; "
    'if [ -n "$TASKFORGE_LOCAL_REQUIREMENTS" ]; then '
    f"tf_install $TASKFORGE_LOCAL_REQUIREMENTS >>{OUTPUT_DIR}/install.log 2>&1 "
    "|| echo 'taskforge: local requirements not installed' >&2; fi; "
    # coverage thresholds (--cov-fail-under in addopts) judge a whole suite, never a subset
    'for cov in "$VIRTUAL_ENV"/lib/python*/site-packages/pytest_cov; do [ -d "$cov" ] && '
    'export PYTEST_ADDOPTS="$PYTEST_ADDOPTS --no-cov"; done; '
    'python -m pytest "$@"; status=$?; '
    "peak=$(cat /sys/fs/cgroup/memory.peak /sys/fs/cgroup/memory/memory.max_usage_in_bytes "
    "2>/dev/null | head -n 1); "
    f'echo "{PEAK_MARKER} $peak" >&2; '
    "exit $status"
)


def pytest_command(
    targets: list[str], extra_args: tuple[str, ...] = (), repeat: int = 0
) -> list[str]:
    """The command of one run; repeats alternate the order of the test files."""
    ordered = targets[::-1] if repeat % 2 else targets
    pytest_args = [
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={REPORT_PATH}",
        "--continue-on-collection-errors",
        "-q",
        *extra_args,
        "--",
        *ordered,
    ]
    return ["sh", "-c", SCRIPT, "taskforge", *pytest_args]


def run_environment(python_path: str, repeat: int = 0) -> dict[str, str]:
    """The environment of a test run: the tree first on the path, a home, a hash seed per repeat."""
    return {"PYTHONPATH": python_path, "HOME": "/home/taskforge", "PYTHONHASHSEED": str(repeat)}


def prepare_tests(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    targets: list[str],
    python_path: str,
    limits: SandboxLimits,
    extra_args: tuple[str, ...] = (),
    repeat: int = 0,
) -> Container:
    """The container of one test run, holding its tree, started and held at its gate."""
    command = pytest_command(targets, extra_args, repeat)
    environment = run_environment(python_path, repeat)
    return prepare_sandbox(client, image, tree, command, environment, limits)


def run_tests(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    targets: list[str],
    python_path: str,
    limits: SandboxLimits,
    extra_args: tuple[str, ...] = (),
    repeat: int = 0,
) -> SandboxRun:
    """Prepare one test run and run it at once."""
    container = prepare_tests(client, image, tree, targets, python_path, limits, extra_args, repeat)
    return run_prepared(container, COLLECT, limits)


def run_result(run: SandboxRun, targets: list[str]) -> RunResult:
    """The run's exit code and its JUnit report, parsed for ``targets``."""
    xml = run.files.get(REPORT_PATH)
    if xml is None:
        return RunResult(run.exit_code, None)
    try:
        return RunResult(run.exit_code, parse_report(xml, targets))
    except ValueError:
        return RunResult(run.exit_code, None)


def peak_memory(run: SandboxRun) -> int:
    """The peak the run's last output line reports; 0 when the engine did not report one."""
    for line in reversed(run.output.splitlines()):
        if line.startswith(PEAK_MARKER):
            value = line.removeprefix(PEAK_MARKER).strip()
            return int(value) if value.isdigit() else 0
    return 0
