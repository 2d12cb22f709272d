"""A project with a C extension builds: its image has a compiler, its tests import the
extension compiled from the task's own tree at run time."""

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
    'build-backend = "setuptools.build_meta"\n'
    '[project]\nname = "fastsum"\nversion = "1.0"\n',
    "setup.py": "from setuptools import Extension, setup\n"
    "setup(ext_modules=[Extension('fastsum._speed', ['fastsum/_speed.c'])])\n",
    "fastsum/__init__.py": "from fastsum._speed import add\n",
    "fastsum/_speed.c": "#include <Python.h>\n"
    "static PyObject *add(PyObject *self, PyObject *args) {\n"
    '    long a, b; if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;\n'
    "    return PyLong_FromLong(a + b);\n}\n"
    'static PyMethodDef methods[] = {{"add", add, METH_VARARGS, ""}, {NULL, NULL, 0, NULL}};\n'
    'static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", "", -1, methods};\n'
    "PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }\n",
    # fastsum._speed exists only once compiled: the tree holds its C source alone
    "tests/test_add.py": "import fastsum\n\n\ndef test_add():\n    assert fastsum.add(2, 3) == 5\n",
}


def test_a_c_extension_builds_and_runs(engine: docker.DockerClient, tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "fastsum", initial_branch="main")
    head = History(repo).commit("Start", FILES)
    env = prepare_environment(engine, repo, "example/fastsum", head, tmp_path / "logs")
    assert env.config.native_build
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / "repo"
        export_tree(repo, head, tree)
        targets = ["tests/test_add.py"]
        run = run_tests(
            engine, env.image.tag, tar_tree(tree), targets, python_path_for(tree), SandboxLimits()
        )
    assert run.exit_code == 0, run.output[-2000:]
    result = run_result(run, targets)
    assert result.report is not None
    assert list(result.report.statuses.values()) == ["passed"]
