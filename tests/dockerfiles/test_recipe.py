from __future__ import annotations

from pathlib import Path

import git
import pytest

from dockerfiles.builder import install_args
from dockerfiles.recipe import dependency_files, detect_recipe, group_requirements


def commit_files(tmp_path: Path, files: dict[str, str]) -> git.Commit:
    repo = git.Repo.init(tmp_path / "repo")
    for path, text in files.items():
        target = Path(repo.working_dir) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    repo.git.add("--all")
    repo.git.commit("-qm", "files", author="a <a@example.org>")
    return repo.head.commit


PEP621 = """
[project]
name = "x"
[project.optional-dependencies]
docs = ["sphinx"]
tests = ["pytest", "hypothesis"]
dev = ["x[tests]", "ruff"]
"""
SETUP_CFG = """
[metadata]
name = x
[options.extras_require]
testing = pytest
"""
SETUP_PY = """
from setuptools import setup
setup(name="x", extras_require={"docs": ["sphinx"], "dev": ["pytest"]})
"""
GROUPS = """
[project]
name = "x"
[dependency-groups]
lint = ["ruff"]
tests = ["pytest", {include-group = "lint"}]
"""


@pytest.mark.parametrize(
    ("files", "extras", "requirements", "groups"),
    [
        ({"pyproject.toml": PEP621}, ["tests"], [], []),
        ({"setup.cfg": SETUP_CFG, "setup.py": "import setuptools\n"}, ["testing"], [], []),
        ({"setup.py": SETUP_PY}, ["dev"], [], []),
        (
            {
                "setup.py": "",
                "requirements/tests.txt": "pytest\n",
                "requirements/docs.txt": "sphinx\n",
            },
            [],
            ["requirements/tests.txt"],
            [],
        ),
        (
            {"pyproject.toml": GROUPS, "test-requirements.txt": "mock\n"},
            [],
            ["test-requirements.txt"],
            ["tests"],
        ),
    ],
)
def test_detect_recipe(
    tmp_path: Path,
    files: dict[str, str],
    extras: list[str],
    requirements: list[str],
    groups: list[str],
) -> None:
    recipe = detect_recipe(dependency_files(commit_files(tmp_path, files)), "3.11", "base:tag")
    assert recipe.extras == extras
    assert recipe.requirement_files == requirements
    assert recipe.dependency_groups == groups
    assert recipe.extra_packages == ["pytest"]


def test_group_requirements_expand_includes() -> None:
    assert group_requirements(GROUPS, "tests") == ["pytest", "ruff"]


def test_install_args(tmp_path: Path) -> None:
    recipe = detect_recipe(
        dependency_files(
            commit_files(tmp_path, {"pyproject.toml": PEP621, "requirements-test.txt": "mock\n"})
        ),
        "3.11",
        "base:tag",
    )
    assert recipe.requirement_files == ["requirements-test.txt"]
    assert install_args(recipe, {"taskforge-requirements.txt"}) == [
        "-r",
        "taskforge-requirements.txt",
        "pytest",
    ]


def test_tox_extras_leave_factor_conditional_lines_whole() -> None:
    from dockerfiles.recipe import tox_extras

    text = "[testenv]\nextras =\n    tests\n    py{36,37,38,39}-crypto-{linux,windows}: crypto\n"
    assert tox_extras(text) == ["tests"]  # not "37", "38" nor "windows}: crypto"
    assert tox_extras("[testenv]\nextras = tests, dev\n") == ["tests", "dev"]


def test_an_extra_with_a_marker_in_its_key_is_the_extra() -> None:
    from dockerfiles.extras import declared_extras, every_extra

    setup_py = (
        "from setuptools import setup\nsetup(extras_require={\n"
        "    'security': [],\n    'socks': ['PySocks>=1.5.6'],\n"
        "    'socks:sys_platform == \"win32\" and python_version == \"2.7\"': ['win_inet_pton'],\n"
        "    ':python_version < \"3\"': ['chardet'],\n})\n"
    )
    declared = declared_extras({"setup.py": setup_py})
    assert declared == {"security": [], "socks": ["PySocks>=1.5.6", "win_inet_pton"]}
    assert every_extra({"setup.py": setup_py}) == ["security", "socks"]


def test_setup_requires_are_build_requirements_without_a_build_system() -> None:
    from dockerfiles.recipe import build_requires

    setup_py = (
        "from setuptools import setup\n"
        "setup(use_scm_version={'write_to': 'src/pkg/_version.py'},"
        " setup_requires=['setuptools_scm>=3'])\n"
    )
    assert build_requires({"setup.py": setup_py}) == [
        "setuptools>=61",
        "wheel",
        "setuptools_scm>=3",
    ]
    scm_only = {"setup.py": "from setuptools import setup\nsetup(use_scm_version=True)\n"}
    assert build_requires(scm_only)[-1] == "setuptools_scm"
    setup_cfg = {"setup.cfg": "[options]\nsetup_requires =\n    setuptools_scm\n"}
    assert build_requires(setup_cfg) == ["setuptools>=61", "wheel", "setuptools_scm"]
    with_table = {"pyproject.toml": '[build-system]\nrequires = ["flit_core"]\n', **scm_only}
    assert build_requires(with_table) == ["flit_core"]
