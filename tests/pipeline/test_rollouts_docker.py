"""RL environments on the demo dataset: an agent's shell commands, rewards, isolation, clean-up."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import git
import pytest

from pipeline.consumers.rollouts import PROBLEM_PATH, TaskEnvironment, open_environment
from pipeline.consumers.task_repos import BaseTrees
from pipeline.core.records import Task, TestStatus
from tests.pipeline.demo_dataset import Demo, demo_dataset
from validators.sandbox import SandboxLimits, remove_leftovers
from validators.states import apply_patch

pytestmark = pytest.mark.docker

LIMITS = SandboxLimits(timeout_s=120, output_bytes=100_000)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Demo:
    return demo_dataset(tmp_path_factory)


def _open(demo: Demo, task: Task) -> TaskEnvironment:
    return open_environment(demo.out, task.instance_id, cache_dir=demo.cache, limits=LIMITS)


def _tree(demo: Demo, task: Task, folder: Path, patch: str = "") -> Path:
    BaseTrees(cache_dir=demo.cache).export(task, folder)
    apply_patch(folder, patch, "patch")
    return folder


def _exists(engine: docker.DockerClient, container_id: str) -> bool:
    try:
        engine.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    return True


def test_an_agent_fixes_the_task_with_shell_commands(demo: Demo, tmp_path: Path) -> None:
    task = demo.tasks[0]
    gold = _tree(demo, task, tmp_path / "gold", task.patch)
    with _open(demo, task) as env:
        assert env.run(f"cat {PROBLEM_PATH}").output == task.problem_statement
        assert env.problem_statement == task.problem_statement
        before = env.grade()
        assert (before.reward, before.resolution.value) == (0, "tests_fail")
        assert set(before.fail_to_pass.values()) == {TestStatus.FAILED}
        assert env.diff() == ""

        for path in task.source_files:  # what an agent's editor would do, by shell commands
            encoded = base64.b64encode((gold / path).read_bytes()).decode()
            written = env.run(f"printf %s {encoded} | base64 -d > {path}")
            assert written.exit_code == 0, written.output
        change = env.diff()
        after = env.grade()

    assert (after.reward, after.resolution.value) == (1, "resolved"), after.detail
    assert set(after.fail_to_pass.values()) == {TestStatus.PASSED}
    replayed = _tree(demo, task, tmp_path / "replayed", change)
    for path in task.source_files:
        assert (replayed / path).read_bytes() == (gold / path).read_bytes()


def test_the_agent_sees_neither_the_coming_tests_nor_later_history(
    demo: Demo, engine: docker.DockerClient, tmp_path: Path
) -> None:
    task = demo.tasks[0]  # adds tests/test_words.py, extends tests/test_core.py
    new_test = task.FAIL_TO_PASS[0].split("::")[-1]  # test_word_count_collapses_spaces
    with _open(demo, task) as env:
        assert env.run("test -e tests/test_words.py").exit_code == 1
        assert env.run(f"grep -c {new_test} tests/test_core.py").output.strip() == "0"
        found = env.run(
            f"grep -rl {new_test} / --exclude-dir=proc --exclude-dir=sys 2>/dev/null", timeout=120
        )
        assert found.output == ""
        stream, _ = engine.containers.get(env.container_id).get_archive("/repo/.git")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            tar.extractall(tmp_path, filter="data")
        history = git.Repo(tmp_path / ".git")
        try:
            assert len(list(history.iter_commits("--all"))) == 1
            assert history.head.commit.tree.hexsha == _base_tree_id(demo, task)
            with pytest.raises(git.GitCommandError):
                history.git.cat_file("-e", task.fix_commit)
        finally:
            history.close()
        assert env.run("id -u").output.strip() == "1000"
        offline = env.run("python -c 'import socket; socket.create_connection((\"1.1.1.1\", 53))'")
        assert offline.exit_code != 0 and "unreachable" in offline.output


def _base_tree_id(demo: Demo, task: Task) -> str:
    repo = git.Repo(demo.cache / "sample-repo")
    try:
        return str(repo.commit(task.base_commit).tree.hexsha)
    finally:
        repo.close()


def test_commands_are_killed_at_their_timeout_and_output_is_capped(demo: Demo) -> None:
    with _open(demo, demo.tasks[1]) as env:
        started = time.monotonic()
        slow = env.run("echo started; sleep 60", timeout=1)
        assert slow.timed_out and slow.output == "started\n"
        assert time.monotonic() - started < 15
        loud = env.run("yes | head -c 5000000; exit 3")
        assert loud.exit_code == 3 and len(loud.output) == LIMITS.output_bytes


def test_environments_opened_from_threads_are_hardened_and_all_removed(
    demo: Demo, engine: docker.DockerClient
) -> None:
    trees = BaseTrees(cache_dir=demo.cache)

    def start(task: Task) -> TaskEnvironment:
        return open_environment(demo.out, task.instance_id, trees=trees, limits=LIMITS)

    with ThreadPoolExecutor(max_workers=len(demo.tasks)) as pool:
        environments = list(pool.map(start, demo.tasks))
        try:
            statements = list(pool.map(lambda e: e.run(f"cat {PROBLEM_PATH}").output, environments))
            assert statements == [t.problem_statement for t in demo.tasks]
            ids = [e.container_id for e in environments]
            assert len(set(ids)) == len(demo.tasks)
            config = engine.api.inspect_container(ids[0])
            assert config["HostConfig"]["NetworkMode"] == "none"
            assert config["HostConfig"]["CapDrop"] == ["ALL"]
            assert config["HostConfig"]["SecurityOpt"] == ["no-new-privileges"]
            assert config["Config"]["Labels"]["taskforge.pid"] == str(os.getpid())
        finally:
            list(pool.map(TaskEnvironment.close, environments))
    assert not any(_exists(engine, i) for i in ids)
    assert all(e.closed for e in environments)
    with pytest.raises(RuntimeError, match="is closed"):
        environments[0].run("true")


CALLER = """
import os, signal, sys
from pathlib import Path
from pipeline.consumers.rollouts import open_environment
env = open_environment(Path(sys.argv[1]), sys.argv[2], cache_dir=Path(sys.argv[3]))
print(env.container_id, flush=True)
if sys.argv[4] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""  # "exit": ends without close(), as a caller that forgot it or raised


@pytest.mark.parametrize("ending", ["exit", "kill"])
def test_a_caller_that_exits_or_is_killed_leaves_no_container(
    demo: Demo, engine: docker.DockerClient, ending: str
) -> None:
    task = demo.tasks[0]
    caller = subprocess.run(
        [sys.executable, "-c", CALLER, str(demo.out), task.instance_id, str(demo.cache), ending],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    container_id = caller.stdout.strip()
    assert container_id, caller.stderr[-2000:]
    if ending == "exit":
        assert caller.returncode == 0, caller.stderr[-2000:]
    else:
        assert caller.returncode == -9
        assert _exists(engine, container_id)  # nothing ran at its death: the next start sweeps
        assert remove_leftovers(engine) >= 1
    assert not _exists(engine, container_id)
