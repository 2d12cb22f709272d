"""A repository packaged as real ones are: tox ``-r`` includes, a ``requirements_dev.txt`` with
``-e .[test]``, a local plugin, and one requirement line that no index has.

The first attempt fails on that line, with the resolver's own words; the next one leaves the
line out and builds. The tests then import what each file named: ``six`` from
``requirements_dev.txt``, ``tomli`` from the file tox includes from ``ci/``, the plugin from the
task's tree (installed at run time) and ``idna``, which only the plugin depends on. A marker
keeps its quotes (``six; python_version >= '3'``), and the project's ``--cov-fail-under=100``
does not fail a run of one test file. blinker 1.4's source has an invalid escape sequence: with
the project's ``filterwarnings = error`` it imports only because its bytecode was compiled at
install time, as pip does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker
import git
import pytest

from dockerfiles.environment import prepare_environment
from pipeline.demo.sample_repo import History
from validators.runner import run_result, run_tests
from validators.sandbox import SandboxLimits
from validators.states import export_tree, python_path_for, tar_tree

pytestmark = pytest.mark.docker

FILES = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n[project]\nname = "tinyproj"\nversion = "1.0"\n'
    '[project.optional-dependencies]\ntest = ["pytest"]\n'
    '[tool.pytest.ini_options]\naddopts = "--cov=tinyproj --cov-fail-under=100"\n'
    'filterwarnings = ["error"]\n',
    "tinyproj.py": "def answer():\n    return 42\n\n\ndef untested():\n    return 0\n",
    "tox.ini": "[tox]\nenvlist = py311\n[testenv]\ndeps =\n    -r requirements_dev.txt\n"
    "    -r{toxinidir}/ci/test.txt\ncommands = pytest\n",
    "requirements_dev.txt": "-e .[test]\n-e plugins/example-plugin\nsix; python_version >= '3'\n"
    "nosuchpkg-taskforge==1.0\n",
    "ci/test.txt": "tomli\npytest-cov\nblinker==1.4\n",
    "plugins/example-plugin/pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n[project]\nname = "example-plugin"\n'
    'version = "0.1"\ndependencies = ["idna", "tinyproj"]\n',
    "plugins/example-plugin/example_plugin.py": "import idna\n\nNAME = 'example'\n",
    "tests/test_imports.py": "import blinker\nimport six\nimport tomli\n\nimport example_plugin\n"
    "from tinyproj import answer\n\n\ndef test_imports():\n"
    "    assert answer() == 42 and example_plugin.NAME == 'example'\n"
    "    assert six.PY3 and tomli.loads('a = 1') == {'a': 1}\n",
}


def test_includes_dev_files_and_a_local_plugin(engine: docker.DockerClient, tmp_path: Path) -> None:
    for image in engine.images.list(name="taskforge-env/example__packaged"):
        engine.images.remove(image.id, force=True)  # build afresh: the fallback is under test
    repo = git.Repo.init(tmp_path / "packaged", initial_branch="main")
    head = History(repo).commit("Start", FILES)
    env = prepare_environment(engine, repo, "example/packaged", head, tmp_path / "logs")
    first, second = env.attempts[0], env.attempts[-1]
    assert not first.succeeded
    assert "nosuchpkg-taskforge was not found in the package registry" in first.reason
    assert "returned a non-zero code" not in first.reason
    assert second.succeeded and second.dropped_requirements == ["nosuchpkg-taskforge"]
    assert env.config.requirement_files == ["requirements_dev.txt", "ci/test.txt"]
    assert env.config.local_requirements == ["-e ./plugins/example-plugin"]
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / "repo"
        export_tree(repo, head, tree)
        targets = ["tests/test_imports.py"]
        run = run_tests(
            engine, env.image.tag, tar_tree(tree), targets, python_path_for(tree), SandboxLimits()
        )
    result = run_result(run, targets)
    assert run.exit_code == 0, run.output[-2000:]
    assert result.report is not None
    assert list(result.report.statuses.values()) == ["passed"]
