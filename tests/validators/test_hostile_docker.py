"""A hostile test suite: each attack is contained, rejected for the right reason, cleaned up.

A generated repository carries one pull request per attack — a fork bomb, a 50 GB allocation,
a socket to an outside address (TEST-NET-1, which no network routes), sleeping forever,
printing 10 GB, deleting files outside the repository — plus one ordinary fix. They are
validated as one batch, two at a time, as a backfill would; the ordinary fix must still verify.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import git
import pytest

from dockerfiles.environment import prepare_environment
from extractors.candidates import build_candidate
from extractors.git_history import find_merged_pulls
from pipeline.core.records import Outcome, Task
from pipeline.demo.sample_repo import History
from validators.sandbox import SandboxLimits
from validators.validate import Repeats, validate_candidate

pytestmark = pytest.mark.docker

HEADER = "import os, shutil, socket, sys, time\n\nfrom hostile import core\n\n\n"
ATTACKS = {
    "fork_bomb": (
        "def test_fork_bomb():\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            time.sleep(0.01)\n",
        Outcome.TIMEOUT,
    ),
    "allocate_50_gb": (
        "def test_allocate_50_gb():\n"
        "    held = [b'x' * (100 << 20) for _ in range(512)]\n"
        "    assert core.fixed() and held\n",
        Outcome.RESOURCE_LIMIT,
    ),
    "phone_home": (
        "def test_phone_home():\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=5).close()\n"
        "    assert core.fixed()\n",
        Outcome.NO_FAIL_TO_PASS,
    ),
    "sleep_forever": (
        "def test_sleep_forever():\n    time.sleep(10**9)\n    assert core.fixed()\n",
        Outcome.TIMEOUT,
    ),
    "print_10_gb": (
        "def test_print_10_gb():\n"
        "    chunk = 'x' * (1 << 20)\n"
        "    for _ in range(10 << 10):\n"
        "        sys.stdout.write(chunk)\n"
        "    assert core.fixed()\n",
        Outcome.NO_FAIL_TO_PASS,
    ),
    "delete_outside": (
        "def test_delete_outside():\n"
        "    shutil.rmtree('/usr/lib', ignore_errors=True)\n"
        "    os.remove('/etc/passwd')\n"
        "    assert core.fixed()\n",
        Outcome.NO_FAIL_TO_PASS,
    ),
}
LIMITS = SandboxLimits(memory="512m", pids=128, timeout_s=20, file_bytes=64 << 20)


def make_repo(path: Path) -> git.Repo:
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    pyproject = '[project]\nname = "hostile"\nversion = "0"\n[project.optional-dependencies]\n'
    history.commit(
        "Start",
        {
            "pyproject.toml": pyproject + 'test = ["pytest"]\n',
            "hostile/__init__.py": "",
            "hostile/core.py": "def fixed():\n    return False\n\n\ndef value():\n    return 1\n",
        },
    )
    for number, (name, (test, _)) in enumerate(ATTACKS.items(), start=1):
        history.commit(
            f"Attack {name} (#{number})",
            {
                f"tests/test_{name}.py": HEADER + test,
                "hostile/core.py": f"# attack {number}\n" + "def fixed():\n    return True\n\n\n"
                "def value():\n    return 1\n",
            },
        )
        history.commit(
            f"Revert {name}",
            {"hostile/core.py": "def fixed():\n    return False\n\n\ndef value():\n    return 1\n"},
        )
    history.commit(
        "Fix value (#99)",
        {
            "tests/test_value.py": "from hostile import core\n\n\ndef test_value():\n"
            "    assert core.value() == 2\n",
            "hostile/core.py": "def fixed():\n    return False\n\n\ndef value():\n    return 2\n",
        },
    )
    return repo


def test_attacks_are_contained(engine: docker.DockerClient, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "hostile")
    sentinel = tmp_path / "host-sentinel"
    sentinel.write_text("still here")
    env = prepare_environment(
        engine, repo, "example/hostile", repo.head.commit.hexsha, tmp_path / "logs"
    )
    candidates: list[Task] = [
        build_candidate(repo, "example/hostile", p) for p in find_merged_pulls(repo, "main")
    ]
    assert all(c.outcome is None for c in candidates)

    def validate(candidate: Task) -> Task:
        return validate_candidate(
            candidate, repo, engine, env.image, LIMITS, Repeats(before=2, after=2)
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {t.pull_number: t for t in pool.map(validate, candidates)}
    expected = {n: outcome for n, (_, outcome) in enumerate(ATTACKS.values(), start=1)}
    expected[99] = Outcome.VERIFIED
    assert {n: t.outcome for n, t in results.items()} == expected, {
        n: t.outcome_detail for n, t in results.items()
    }
    assert results[99].FAIL_TO_PASS == ["tests/test_value.py::test_value"]
    assert "out of memory" in results[2].outcome_detail
    assert sentinel.read_text() == "still here"
    mine = engine.containers.list(all=True, filters={"label": f"taskforge.pid={os.getpid()}"})
    assert mine == []
