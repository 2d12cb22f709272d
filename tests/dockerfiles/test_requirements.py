"""Requirement files read from a real git tree: includes, local paths, alternatives."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerfiles.base import BOOTSTRAPPED
from dockerfiles.environment import plan_environment
from dockerfiles.recipe import dependency_files, dependency_state, detect_recipe
from dockerfiles.requirement_files import REQUIREMENT_FILE, selections
from dockerfiles.requirements import classify, expand, flattened, split_options
from pipeline.demo.sample_repo import History
from tests.dockerfiles.test_recipe import commit_files

TOX = """[tox]
envlist = py311
[testenv]
deps =
    -r requirements_dev.txt
    -rrequirements.txt
    -Urrequirements/extra.txt
    -r{toxinidir}/ci/test.txt
    py38: mock
    {env:EXTRA:}
commands = pytest
"""


@pytest.mark.parametrize(
    ("line", "options"),
    [
        ("-r requirements_dev.txt", [("r", "requirements_dev.txt")]),
        ("-rrequirements.txt", [("r", "requirements.txt")]),
        ("-Urrequirements.txt", [("U", ""), ("r", "requirements.txt")]),
        ("--requirement=x.txt", [("r", "x.txt")]),
        ("-c constraints.txt", [("c", "constraints.txt")]),
        ("-e .[test]", [("e", ".[test]")]),
    ],
)
def test_options(line: str, options: list[tuple[str, str]]) -> None:
    assert split_options(line)[0] == options


@pytest.mark.parametrize(
    ("text", "local", "written"),
    [
        ("plugins/example-plugin", "plugins/example-plugin", "./plugins/example-plugin"),
        ("./subpackage", "subpackage", "subpackage"),
        ("file:./vendored/lib", "vendored/lib", "vendored/lib"),
        ("lib @ file:///${PROJECT_ROOT}/lib", "lib", "./lib"),
        (".", ".", "."),
        ("werkzeug==2.0.0", "", "werkzeug==2.0.0"),
        ("pkg @ https://example.org/pkg.whl", "", "pkg @ https://example.org/pkg.whl"),
    ],
)
def test_classify_local_paths(text: str, local: str, written: str) -> None:
    line = classify(text, "requirements.txt")
    assert line.local == local
    assert line.text in {written, text, f"./{local}"}


def test_editable_project_with_extra_is_the_project() -> None:
    line = classify(".[test]", "requirements-dev.txt", editable=True)
    assert line.is_project and line.extras == ("test",)


def test_includes_are_followed_relative_to_the_including_file() -> None:
    files = {
        "requirements/dev.txt": "-r base.txt\n-c ../constraints.txt\npytest  # runner\n",
        "requirements/base.txt": "-r dev.txt\nattrs\\\n>=20\n",  # a cycle back to dev.txt
        "constraints.txt": "attrs<24\n",
    }
    expanded = expand(files.get, ["requirements/dev.txt"])
    assert [line.text for line in expanded.requirements] == ["pytest", "attrs >=20"]
    assert [line.text for line in expanded.constraints] == ["attrs<24"]
    assert expanded.files == ["requirements/dev.txt", "requirements/base.txt", "constraints.txt"]


def test_include_depth_is_bounded() -> None:
    files = {f"r{n}.txt": f"-r r{n + 1}.txt\npkg{n}\n" for n in range(10)}
    names = [line.name for line in expand(files.get, ["r0.txt"]).requirements]
    assert names == [f"pkg{n}" for n in range(6)]


def test_flattened_leaves_out_paths_the_project_and_dropped_lines() -> None:
    files = {
        "requirements-dev.txt": "-e .[test]\n-e ./plugins/x\n./sub\nsix\nbroken==9.9\n",
    }
    requirements, constraints = flattened(files.get, ["requirements-dev.txt"], ["Broken"])
    assert requirements == ["six"]
    assert constraints == []


def test_tox_includes_and_dev_files_join_the_recipe(tmp_path: Path) -> None:
    commit = commit_files(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup(name='x')\n",
            "tox.ini": TOX,
            "requirements_dev.txt": "-e .[test]\n-e plugins/example-plugin\nhypothesis\n",
            "requirements.txt": "attrs\n",
            "requirements/extra.txt": "-r ../ci/common.txt\nsix\n",
            "ci/test.txt": "pytest-mock\n",
            "ci/common.txt": "toolz\n",
        },
    )
    files = dependency_files(commit)
    assert {"ci/test.txt", "ci/common.txt", "requirements/extra.txt"} <= set(files)
    recipe = detect_recipe(files, "3.11", "base:tag")
    assert recipe.requirement_files == [
        "requirements.txt",
        "requirements_dev.txt",
        "requirements/extra.txt",
        "ci/test.txt",
    ]
    assert recipe.extras == ["test"]  # from "-e .[test]"
    assert recipe.local_requirements == ["-e ./plugins/example-plugin"]
    requirements, _ = flattened(files.get, recipe.requirement_files)
    assert sorted(requirements) == ["attrs", "hypothesis", "pytest-mock", "six", "toolz"]
    assert "ci/common.txt" in dependency_state(files)  # an include decides the fingerprint


@pytest.mark.parametrize(
    "path",
    [
        "requirements_dev.txt",
        "requirements-dev.txt",
        "dev-requirements.txt",
        "requirements/dev.txt",
        "requirements/development.txt",
        "requirements-testing.txt",
        "requirements/tests.txt",
        "requirements/test-py3.txt",
        "requirements/tests.in",
        "test-requirements.txt",
    ],
)
def test_development_files_are_test_requirements(path: str) -> None:
    assert REQUIREMENT_FILE.match(path)


@pytest.mark.parametrize("path", ["requirements/docs.txt", "docs-requirements.txt", "setup.txt"])
def test_other_files_are_not(path: str) -> None:
    assert not REQUIREMENT_FILE.match(path)


def test_alternatives_one_at_a_time_compiled_before_source() -> None:
    paths = [
        "requirements/tests.txt",
        "requirements/tests.in",
        "requirements/tests-pallets-min.txt",
        "requirements/tests-pallets-min.in",
    ]
    assert selections(paths) == [
        ["requirements/tests.txt"],
        ["requirements/tests.in"],
        ["requirements/tests-pallets-min.txt"],
        ["requirements/tests-pallets-min.in"],
    ]
    # a minimum variant of a dev file is no alternative of requirements.txt
    assert selections(["requirements.txt", "requirements-dev-min.txt"]) == [
        ["requirements-dev-min.txt", "requirements.txt"]
    ]


def test_plan_tries_alternatives_apart(tmp_path: Path) -> None:
    repo = commit_files(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup(name='x')\n",
            "requirements/tests.txt": "werkzeug==2.3.0\n",
            "requirements/tests.in": "werkzeug\n",
            "requirements/tests-pallets-min.txt": "werkzeug==2.0.0\n",
        },
    ).repo
    attempts = plan_environment(repo, "o/x", repo.head.commit.hexsha, [], BOOTSTRAPPED).attempts
    assert [a.requirement_files for a in attempts[:3]] == [
        ["requirements/tests.txt"],
        ["requirements/tests.in"],
        ["requirements/tests-pallets-min.txt"],
    ]
    assert all(len(a.requirement_files) == 1 for a in attempts)


def test_an_include_change_is_a_new_state(tmp_path: Path) -> None:
    import git

    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    base = {"setup.py": "", "tox.ini": TOX.replace("-r{toxinidir}/ci/test.txt\n", "")}
    first = history.commit("Start", {**base, "requirements_dev.txt": "-r ci/x.txt\n"})
    second = history.commit("Pin", {"ci/x.txt": "six==1.16\n"})
    states = [dependency_state(dependency_files(repo.commit(s))) for s in (first, second)]
    assert states[0] != states[1]


def test_a_marker_keeps_its_quotes_and_per_requirement_options_are_cut() -> None:
    from dockerfiles.requirements import parse_lines

    lines = [
        "typing_extensions; python_version < '3.8'",
        'backports.functools_lru_cache==1.6.1; python_version == "2.7"',
        "foo==1.0 --hash=sha256:abc",
    ]
    found, includes = parse_lines(lines, "requirements.txt", "")
    assert [r.text for r in found] == [
        "typing_extensions; python_version < '3.8'",
        'backports.functools_lru_cache==1.6.1; python_version == "2.7"',
        "foo==1.0",
    ]
    assert includes == []


def test_development_variants_of_the_tests_file_are_tried_last() -> None:
    files = [
        "requirements/dev.txt",
        "requirements/tests.txt",
        "requirements/tests-pallets-dev.txt",
        "requirements/tests-pallets-min.txt",
    ]
    found = selections(files)
    assert found[0] == ["requirements/dev.txt", "requirements/tests.txt"]
    assert found[1:] == [
        ["requirements/dev.txt", "requirements/tests-pallets-min.txt"],
        ["requirements/dev.txt", "requirements/tests-pallets-dev.txt"],
    ]
    # requirements-dev.txt is a file of its own, installed beside requirements.txt
    assert selections(["requirements.txt", "requirements-dev.txt"]) == [
        ["requirements-dev.txt", "requirements.txt"]
    ]
