"""Live task environments for RL rollouts: one running, hardened container per task.

``open_environment(dataset, instance_id)`` starts a container of the task's environment image
and returns a ``TaskEnvironment``:

- ``/repo`` holds the base commit's files and a git repository whose only commit is that tree
  (made on the host, so images need no git). Nothing of the test patch is there — its files are
  absent or at their base versions — and no later commit: the repository is new, not a clone;
- the problem statement is ``env.problem_statement`` and ``/home/taskforge/PROBLEM.md``;
- ``run(command, timeout)`` runs a shell command in ``/repo`` as the image's non-root user and
  returns ``(exit_code, output)``; exit code 124 means it was killed at its timeout;
- ``diff()`` is the agent's change against the base commit (``git diff``, computed on the host
  from a copy of ``/repo``: new files included unless a ``.gitignore`` ignores them, the
  container's ``.git`` never read);
- ``grade()`` copies ``/repo`` out and grades it with ``validators.regrade.grade_tree`` in a
  fresh sandbox container — exactly what ``taskforge evaluate`` does with a model's patch;
- ``close()`` (or leaving a ``with`` block) removes the container and the host scratch folder.

The container has the hardening of a test run: no network, all capabilities dropped,
no-new-privileges, the image's non-root user, memory / pids / CPU / file-size limits. Its main
process is a ``sleep`` of ``lifetime_s`` under Docker's init (which reaps the orphans an agent's
commands leave, so they cannot exhaust the pids limit); commands run through ``exec``.

Clean-up invariants: a container is removed by ``close()``, by a ``weakref.finalize`` when its
environment is garbage-collected or the interpreter exits, by ``remove_leftovers`` at the next
start of any taskforge process on this host once its creator is dead (it carries the sandbox's
labels with the creating pid, e.g. after SIGKILL), and in the last resort by the engine itself
when ``sleep`` ends (``auto_remove``). Environments are independent: open many from threads.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import docker
import docker.errors

from pipeline.consumers.task_repos import BaseTrees
from pipeline.core.engine import docker_client
from pipeline.core.errors import TerminalError, UserInputError
from pipeline.core.images import ensure_image
from pipeline.core.records import Task
from pipeline.dataset.browse import find_task
from pipeline.dataset.location import DatasetUrl
from pipeline.dataset.storage import DatasetLayout
from validators.regrade import BaseCommit, Grade, grade_tree
from validators.sandbox import (
    ENGINE_ERRORS,
    SandboxLimits,
    hardened_options,
    infrastructure_error,
    remove_leftovers,
)
from validators.states import SANDBOX_UID, python_path_for, tar_tree

REPO_PATH = "/repo"
HOME = "/home/taskforge"
PROBLEM_PATH = f"{HOME}/PROBLEM.md"
TIMED_OUT = 124  # what coreutils' timeout returns; run() reports every timeout with it
ROLE_LABEL = {"taskforge.role": "rl-environment"}
API_ERRORS = ENGINE_ERRORS
_swept = threading.Event()  # leftovers of dead processes are removed once per process


class CommandResult(NamedTuple):
    """What ``run`` returns: the exit code and the output (stdout and stderr, capped)."""

    exit_code: int
    output: str

    @property
    def timed_out(self) -> bool:
        """Whether the command ran out of its time limit."""
        return self.exit_code == TIMED_OUT


class TreeTooLarge(TerminalError):
    """The agent's ``/repo`` is larger than the environment copies out for a diff or a grade."""


class TaskEnvironment:
    """A running container at a task's base commit; see the module docstring."""

    def __init__(
        self,
        task: Task,
        trees: BaseTrees,
        client: docker.DockerClient | None = None,
        limits: SandboxLimits | None = None,
        lifetime_s: int = 6 * 3600,
        max_tree_bytes: int = 1 << 30,
    ) -> None:
        if not task.verified or task.image is None:
            raise UserInputError(f"{task.instance_id} is not a verified task with an image")
        self.task = task
        self.limits = limits or SandboxLimits()
        self.max_tree_bytes = max_tree_bytes
        self.attempts, self.retry_pause_s = 3, 5.0  # infrastructure retries of grade()
        own_client = client is None
        self._client = client or docker_client()
        self._scratch = Path(tempfile.mkdtemp(prefix="taskforge-env-"))
        self._ids: list[str] = []  # the container's, shared with the finalizer
        self._finalizer = weakref.finalize(
            self, _clean_up, self._client, self._ids, self._scratch, own_client
        )
        try:
            _sweep_leftovers(self._client)
            self._base = _pristine_repository(trees, task, self._scratch / "base")
            self._start(ensure_image(self._client, task.image), lifetime_s)
        except BaseException:
            self.close()
            raise

    @property
    def instance_id(self) -> str:
        """The task's instance id."""
        return self.task.instance_id

    @property
    def problem_statement(self) -> str:
        """The task's problem statement, what the agent is asked to solve."""
        return self.task.problem_statement

    @property
    def container_id(self) -> str:
        """The id of the environment's container."""
        return self._ids[0] if self._ids else ""

    @property
    def closed(self) -> bool:
        """Whether the environment was closed (its container removed)."""
        return not self._finalizer.alive

    def _start(self, image: str, lifetime_s: int) -> None:
        tree = self._scratch / "base"
        try:
            container = self._client.containers.create(
                image,
                ["sleep", str(lifetime_s)],
                init=True,
                auto_remove=True,
                working_dir=REPO_PATH,
                environment={"HOME": HOME, "PYTHONPATH": python_path_for(tree)},
                **_with_role(hardened_options(self.limits)),
            )
            self._ids.append(container.id)
            container.put_archive("/", tar_tree(tree))
            container.put_archive(HOME, _file_tar("PROBLEM.md", self.problem_statement.encode()))
            container.start()
        except API_ERRORS as error:
            raise infrastructure_error(error) from error

    def run(self, command: str | Sequence[str], timeout: float = 120) -> CommandResult:
        """Run ``command`` (a shell string, or argv) in ``/repo``; killed after ``timeout`` s."""
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        output_file = f"/tmp/.taskforge-exec-{uuid.uuid4().hex}"
        script = 'out="$1"; limit="$2"; shift 2; exec timeout -k 5 "$limit" "$@" >"$out" 2>&1'
        wrapped = ["sh", "-c", script, "taskforge", output_file, f"{timeout}s", *argv]
        api = self._live_client().api
        started = time.monotonic()
        try:
            exec_id = api.exec_create(self.container_id, wrapped, workdir=REPO_PATH)["Id"]
            api.exec_start(exec_id, detach=True)
            exit_code = _wait_for_exec(api, exec_id, started + timeout + 15)
            tail = ["sh", "-c", 'tail -c "$1" "$2"; rm -f "$2"', "taskforge"]
            tail += [str(self.limits.output_bytes), output_file]
            _, output = self._client.containers.get(self.container_id).exec_run(tail)
        except API_ERRORS as error:
            raise infrastructure_error(error) from error
        if exit_code is None or (exit_code in (TIMED_OUT, 137) and _over(started, timeout)):
            exit_code = TIMED_OUT
        return CommandResult(exit_code, bytes(output or b"").decode(errors="replace"))

    def diff(self) -> str:
        """The agent's change to ``/repo`` against the base commit, as ``git diff`` prints it."""
        with tempfile.TemporaryDirectory(dir=self._scratch) as work:
            tree = self._copy_out(Path(work))
            return tree_diff(self._base, tree, Path(work) / "index")

    def grade(self) -> Grade:
        """Grade ``/repo`` as it is now (reward 0 or 1, per-test statuses); see the docstring."""
        with tempfile.TemporaryDirectory(dir=self._scratch) as work:
            tree = self._copy_out(Path(work))
            return grade_tree(
                self._client,
                self.task,
                tree,
                self._base,
                self.limits,
                self.attempts,
                self.retry_pause_s,
            )

    def close(self) -> None:
        """Remove the container and the scratch folder; safe to call twice."""
        self._finalizer()

    def __enter__(self) -> TaskEnvironment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _live_client(self) -> docker.DockerClient:
        if self.closed:
            raise RuntimeError(f"the environment of {self.instance_id} is closed")
        return self._client

    def _copy_out(self, into: Path) -> Path:
        """Copy ``/repo`` (without ``.git``) to ``into/repo``; ``TreeTooLarge`` past the cap."""
        container = self._live_client().containers.get(self.container_id)
        archive = into / "repo.tar"
        try:
            stream, _ = container.get_archive(REPO_PATH)
            size = 0
            with archive.open("wb") as handle:
                for chunk in stream:
                    size += len(chunk)
                    if size > self.max_tree_bytes:
                        raise TreeTooLarge(
                            f"{self.instance_id}: /repo is over {self.max_tree_bytes} bytes"
                        )
                    handle.write(chunk)
        except API_ERRORS as error:
            raise infrastructure_error(error) from error
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter=_agent_member)
        archive.unlink()
        return into / "repo"


def open_environment(
    dataset: Path | DatasetUrl | DatasetLayout,
    instance_id: str,
    *,
    sources: Sequence[str] = (),
    cache_dir: Path | None = None,
    trees: BaseTrees | None = None,
    client: docker.DockerClient | None = None,
    limits: SandboxLimits | None = None,
    lifetime_s: int = 6 * 3600,
) -> TaskEnvironment:
    """Start the environment of ``instance_id``, a verified task of ``dataset``.

    Base commits are looked up as ``taskforge evaluate`` does (``sources``, then the
    repositories in ``cache_dir``); pass one ``trees`` to many calls to look them up once.
    """
    layout = dataset if isinstance(dataset, DatasetLayout) else DatasetLayout.of(dataset)
    task, _ = find_task(layout, instance_id)
    trees = trees or BaseTrees(sources, cache_dir)
    return TaskEnvironment(task, trees, client, limits, lifetime_s)


def tree_diff(base: BaseCommit, tree: Path, index: Path) -> str:
    """``tree`` against ``base`` as a git diff (binary-safe), using a throw-away index."""
    environment = {
        **os.environ,
        "GIT_DIR": str(base.repo_path / ".git"),
        "GIT_WORK_TREE": str(tree),
        "GIT_INDEX_FILE": str(index),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for args in (["read-tree", base.commit], ["add", "--all"]):
        subprocess.run(["git", *args], env=environment, check=True, capture_output=True)
    shown = subprocess.run(
        ["git", "diff", "--cached", "--binary", "--no-color", "--no-ext-diff", base.commit],
        env=environment,
        check=True,
        capture_output=True,
    )
    return shown.stdout.decode(errors="replace")


def _pristine_repository(trees: BaseTrees, task: Task, tree: Path) -> BaseCommit:
    """The base tree at ``tree`` as a new git repository with one commit; its commit."""
    source = trees.export(task, tree)
    date = subprocess.run(
        ["git", f"--git-dir={source.repo_path}", "log", "-1", "--format=%cI", source.commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    identity = {"GIT_AUTHOR_NAME": "taskforge", "GIT_AUTHOR_EMAIL": "taskforge@localhost"}
    environment = {
        **os.environ,
        **identity,
        "GIT_COMMITTER_NAME": "taskforge",
        "GIT_COMMITTER_EMAIL": "taskforge@localhost",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    message = f"{task.repo} at {task.base_commit}"
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all", "--force"],
        ["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message],
    ):
        subprocess.run(["git", *args], cwd=tree, env=environment, check=True, capture_output=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tree, check=True, capture_output=True, text=True
    )
    return BaseCommit(tree, head.stdout.strip())


def _with_role(options: dict[str, object]) -> dict[str, object]:
    labels = options["labels"]
    assert isinstance(labels, dict)
    return {**options, "labels": {**labels, **ROLE_LABEL}}


def _sweep_leftovers(client: docker.DockerClient) -> None:
    if not _swept.is_set():
        _swept.set()
        remove_leftovers(client)


def _wait_for_exec(api: docker.APIClient, exec_id: str, deadline: float) -> int | None:
    """The exit code of an exec once it ends; None if it still runs at ``deadline``."""
    pause = 0.01
    while time.monotonic() < deadline:
        state = api.exec_inspect(exec_id)
        if not state["Running"] and state["ExitCode"] is not None:
            return int(state["ExitCode"])
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    return None


def _over(started: float, timeout: float) -> bool:
    return time.monotonic() - started >= timeout


def _agent_member(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """Extract what the agent left, except ``.git`` and what would land outside the copy."""
    if member.name == "repo/.git" or member.name.startswith("repo/.git/"):
        return None
    try:
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError:
        return None  # a link out of the tree, a device: not part of a change to grade


def _file_tar(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    info.uid = info.gid = SANDBOX_UID
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _clean_up(
    client: docker.DockerClient, container_ids: list[str], scratch: Path, own_client: bool
) -> None:
    for container_id in container_ids:
        try:
            client.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except API_ERRORS:
            pass  # the engine is gone; remove_leftovers clears it at the next start
    shutil.rmtree(scratch, ignore_errors=True)
    if own_client:
        client.close()
