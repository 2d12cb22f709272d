"""Test runs of a language other than Python: the runner's command in the sandbox, its report.

The runner of a task is its environment's ``install_config.test_runner``; its spec
(``validators.runners.RUNNERS``) turns the touched test files into a selection, a command and
a report reader. Before the runner, a short prelude points the task's tree at what the image
holds under ``/opt/taskforge`` (``dockerfiles.language_image``): ``node_modules`` is linked
into the tree, and a Go module that vendors nothing resolves from the module cache; a Go tree
from before modules gets the go.mod its image wrote. A report
that is a folder (Surefire's) is packed into one tar by the run, so a run still costs one
archive read per file collected.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import docker
from docker.models.containers import Container

from pipeline.core.languages import GOPATH_MODULE, Language, TestRunner
from validators.grading import RunResult
from validators.js_test_files import CONFIG_FILES
from validators.runners import (
    BUILD_FAILED,
    OUTPUT_DIR,
    PEAK,
    REPORT,
    RUNNERS,
    RunnerSpec,
    RunTargets,
)
from validators.sandbox import SandboxLimits, SandboxRun, prepare_sandbox

REPORT_TAR = f"{REPORT}.tar"
COLLECT = [REPORT, REPORT_TAR, BUILD_FAILED]
PRELUDE = {
    Language.JAVASCRIPT: "[ -e node_modules ] || ln -s /opt/taskforge/node_modules node_modules",
    Language.GO: (
        f"if [ ! -e go.mod ] && [ -d {GOPATH_MODULE} ]; then cp {GOPATH_MODULE}/go.* . && "
        'export GOFLAGS="$GOFLAGS -mod=mod"; '
        'elif [ ! -d vendor ]; then export GOFLAGS="$GOFLAGS -mod=mod"; fi'
    ),
}
PACK = f"if [ -d {REPORT} ]; then tar -cf {REPORT_TAR} -C {REPORT} .; fi"
MANIFESTS = ("go.mod", "Cargo.toml")
SKIPPED = {"node_modules", "vendor", "testdata", "target", ".git"}


def runner_spec(test_runner: str) -> RunnerSpec | None:
    """The spec of ``test_runner``; None for pytest (``validators.runner``) or an unknown one."""
    try:
        return RUNNERS.get(TestRunner(test_runner))
    except ValueError:
        return None


def language_command(spec: RunnerSpec, targets: RunTargets, repeat: int = 0) -> list[str]:
    """The ``sh -c`` of one run: prelude, the runner writing its report, the report packed."""
    prelude = PRELUDE.get(spec.language, ":")
    body = spec.body(targets, repeat)
    return ["sh", "-c", f"mkdir -p {OUTPUT_DIR}; {prelude}; {body}; {PACK}; {PEAK}"]


def prepare_language_tests(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    spec: RunnerSpec,
    targets: RunTargets,
    limits: SandboxLimits,
    repeat: int = 0,
) -> Container:
    """The container of one run, holding its tree, started and held at its gate."""
    environment = {"HOME": "/home/taskforge", "CI": "true"}
    command = language_command(spec, targets, repeat)
    return prepare_sandbox(client, image, tree, command, environment, limits)


def language_result(run: SandboxRun, spec: RunnerSpec, targets: RunTargets) -> RunResult:
    """The run's exit code, as pytest's, and its report read by the runner's reader."""
    files = dict(run.files)
    packed = files.pop(REPORT_TAR, None)
    if packed is not None:
        files.pop(REPORT, None)
        files.update(_unpacked(packed))
    return RunResult(spec.exit_code(run.exit_code), spec.read(files, targets))


def _unpacked(data: bytes) -> dict[str, bytes]:
    """The files of a packed report folder, by their path under ``REPORT``."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[f"{REPORT}/{member.name.removeprefix('./')}"] = extracted.read()
    return files


def manifests_of(tree: Path) -> dict[str, str]:
    """The manifests in ``tree`` a runner's selection reads (go.mod, Cargo.toml; JavaScript's
    configuration at the root), by path."""
    found = {}
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree)
        wanted = path.name in MANIFESTS or relative.as_posix() in CONFIG_FILES
        if wanted and not SKIPPED & set(relative.parts[:-1]) and path.is_file():
            found[relative.as_posix()] = path.read_text(errors="replace")
    return found
