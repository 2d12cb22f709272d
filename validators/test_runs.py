"""The test runs of one candidate: prepared, run one after another and read, with pytest
(``validators.runner``) or the environment's other runner (``validators.language_runs``).

Each run is a fresh container of the environment image. While one run executes, the next
one's container is created, given its tree and started up to its gate, and the finished one
is removed, in a background thread: only opening the gate, waiting and reading the report are
on the path. The validation (``validators.validate``) and the strength check
(``validators.strength_runs``) run their trees through the same ``TestRuns``, so a wrong patch
runs exactly as the fix did. An engine failure raises ``InfrastructureError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import docker
from docker.models.containers import Container

from validators.grading import RunResult
from validators.infra import InfrastructureError
from validators.language_runs import COLLECT as LANGUAGE_COLLECT
from validators.language_runs import language_result, prepare_language_tests, runner_spec
from validators.runner import COLLECT, prepare_tests, run_result
from validators.runners import RunTargets
from validators.sandbox import SandboxLimits, SandboxRun, discard, run_prepared


@dataclass(frozen=True)
class PlannedRun:
    """One run to make: its test files and which repeat; its tree is the subclass's."""

    targets: list[str]
    repeat: int

    def archive(self) -> bytes:
        """The run's tree, a tar of ``repo/...`` (made in the preparing thread)."""
        raise NotImplementedError


Planned = TypeVar("Planned", bound=PlannedRun)


class TestRuns:
    """How a candidate's runs are prepared and read in one image, with one runner."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        limits: SandboxLimits,
        test_runner: str,
        python_path: str,
        manifests: dict[str, str],
    ) -> None:
        self.client = client
        self.image = image
        self.limits = limits
        self.spec = runner_spec(test_runner)  # None: pytest
        self.python_path = python_path
        self.manifests = manifests
        self._selected: dict[tuple[str, ...], RunTargets] = {}

    def selection(self, files: list[str]) -> RunTargets | None:
        """The runner's selection of ``files`` (worked out once per list); None for pytest."""
        if self.spec is None:
            return None
        key = tuple(files)
        if key not in self._selected:
            self._selected[key] = self.spec.targets(files, self.manifests)
        return self._selected[key]

    def selects_tests(self, files: list[str]) -> bool:
        """Whether a run of ``files`` runs any test: pytest takes any file it is given."""
        selected = self.selection(files)
        return bool(files) and (selected is None or bool(selected.selection))

    def prepare(self, run: PlannedRun) -> Container:
        """The container of ``run``, holding its tree, started and held at its gate."""
        selected = self.selection(run.targets)
        tree = run.archive()
        if self.spec is not None and selected is not None:
            return prepare_language_tests(
                self.client, self.image, tree, self.spec, selected, self.limits, run.repeat
            )
        return prepare_tests(
            self.client,
            self.image,
            tree,
            run.targets,
            self.python_path,
            self.limits,
            repeat=run.repeat,
        )

    def read(self, run: SandboxRun, planned: PlannedRun) -> RunResult:
        """The exit code and parsed report of a finished run."""
        selected = self.selection(planned.targets)
        if self.spec is not None and selected is not None:
            return language_result(run, self.spec, selected)
        return run_result(run, planned.targets)

    def run_all(
        self,
        runs: Sequence[Planned],
        on_run: Callable[[Planned, SandboxRun, RunResult], None],
    ) -> None:
        """Run ``runs`` in order, each handed to ``on_run`` once read; an exception from
        ``on_run`` stops the rest, and the container prepared for the next is removed."""
        collect = COLLECT if self.spec is None else LANGUAGE_COLLECT
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskforge-prepare") as pool:
            upcoming: Future[Container] | None = None
            if runs:
                upcoming = pool.submit(self.prepare, runs[0])
            try:
                for index, planned in enumerate(runs):
                    assert upcoming is not None
                    container = upcoming.result()
                    following = runs[index + 1] if index + 1 < len(runs) else None
                    upcoming = pool.submit(self.prepare, following) if following else None
                    run = run_prepared(
                        container, collect, self.limits, lambda c: pool.submit(discard, c)
                    )
                    on_run(planned, run, self.read(run, planned))
            finally:
                _discard_pending(upcoming)


def _discard_pending(upcoming: Future[Container] | None) -> None:
    """Remove a prepared container no run will use (the runs stopped early)."""
    if upcoming is None:
        return
    try:
        container = upcoming.result()
    except InfrastructureError:
        return
    discard(container)
