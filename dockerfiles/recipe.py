"""Detect how to install a Python repository for its tests, from its files at one commit.

The recipe is an ``InstallConfig``: the project installed with whichever test extras it
declares (``test``, ``tests``, ``testing``, then ``dev``) in ``pyproject.toml``, ``setup.cfg``
or ``setup.py``, and those tox's ``extras`` names; its PEP 735 dependency groups of those names;
its test and development requirement files (``requirements/test*.txt``, ``requirements-dev.txt``,
``dev-requirements.txt``, ``requirements/dev.txt``... see ``requirement_files``) with what they
include (``-r``); the files tox's ``deps`` include, and its plain ``deps`` lines where nothing
else names test dependencies; and pytest, which also runs plain ``unittest`` suites. Local
path requirements (``./sub``, ``-e plugins/x``) go to ``local_requirements``, installed from the
task's tree at run time; ``-e .[test]`` adds the project's ``test`` extra. Nothing is executed on
the host: files are read from the git tree.

``dependency_state`` is what decides the environment, normalised so that a release that only
bumps ``version`` does not make a new image.
"""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import PurePosixPath
from typing import Any

import git

from dockerfiles.extras import TEST_NAMES, first_test_extra, richer_extras
from dockerfiles.native import compiles_extensions
from dockerfiles.packaging_text import requirement_name, toml_table
from dockerfiles.requirement_files import REQUIREMENT_FILE, selections
from dockerfiles.requirements import expand, included_files, parse_lines
from pipeline.core.errors import MissingObjectError
from pipeline.core.records import InstallConfig

__all__ = ["REQUIREMENT_FILE", "richer_extras"]

DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "tox.ini")
VERSION_LINE = re.compile(r"^\s*version\s*=.*$", re.MULTILINE)
DEFAULT_BUILD_REQUIRES = ["setuptools>=61", "wheel"]
# "py38: mock", "py38,py39: -rx.txt", "py{37,38}-crypto: crypto"
TOX_FACTOR = re.compile(r"^[\w{}.,!-]+:(\s|$)")


def read_file(commit: git.Commit, path: str) -> str | None:
    """The text of ``path`` at ``commit``, or None when it is absent."""
    try:
        blob = commit.tree / path
    except KeyError:
        return None
    try:
        data: bytes = blob.data_stream.read()
    except ValueError as error:  # GitPython's word for an object the repository lacks
        repo_dir = str(commit.repo.git_dir)
        raise MissingObjectError(
            repo_dir, commit.hexsha, path, blob.hexsha, "no such object"
        ) from error
    return data.decode("utf-8", errors="replace")


def dependency_files(commit: git.Commit) -> dict[str, str]:
    """The files whose contents decide the environment, by path: the packaging files, the
    test requirement files, and every file those and tox's ``deps`` include (``-r``)."""
    files = {p: read_file(commit, p) for p in DEPENDENCY_FILES}
    for folder in ("", "requirements"):
        tree = commit.tree if not folder else _subtree(commit, folder)
        for blob in tree.blobs if tree is not None else []:
            path = str(PurePosixPath(folder, blob.name)) if folder else blob.name
            if REQUIREMENT_FILE.match(path):
                files[path] = read_file(commit, path)
    named = [p for p, text in files.items() if text is not None and REQUIREMENT_FILE.match(p)]
    tox_lines = tox_deps_lines(files.get("tox.ini"))
    for path in included_files(lambda p: read_file(commit, p), named, tox_lines):
        files[path] = read_file(commit, path)
    return {path: text for path, text in sorted(files.items()) if text is not None}


def dependency_state(files: dict[str, str]) -> dict[str, Any]:
    """The environment-relevant content of the dependency files, without version bumps."""
    state: dict[str, Any] = {}
    pyproject = toml_table(files.get("pyproject.toml"))
    project = {
        k: v
        for k, v in pyproject.get("project", {}).items()
        if k in {"dependencies", "optional-dependencies", "requires-python"}
    }
    state["pyproject"] = {
        "build-system": pyproject.get("build-system", {}),
        "project": project,
        "dependency-groups": pyproject.get("dependency-groups", {}),
    }
    for path in ("setup.cfg", "setup.py"):
        if path in files:
            state[path] = VERSION_LINE.sub("", files[path])
    state["tox-deps"] = tox_deps_lines(files.get("tox.ini"))
    state["tox-extras"] = tox_extras(files.get("tox.ini"))
    state.update({p: t for p, t in files.items() if p not in DEPENDENCY_FILES})
    return state


def detect_recipe(
    files: dict[str, str], python: str, base_image: str, selection: int = 0
) -> InstallConfig:
    """The recipe of these files; ``selection`` picks an alternative set of requirement files
    (0, the first, unless an earlier one failed; see ``requirement_alternatives``)."""
    groups = set(toml_table(files.get("pyproject.toml")).get("dependency-groups", {}))
    chosen = requirement_alternatives(files)
    requirement_files = chosen[min(selection, len(chosen) - 1)] if chosen else []
    tox_lines = tox_deps_lines(files.get("tox.ini"))
    _, tox_includes = parse_lines(tox_lines, "tox.ini", "")
    requirement_files += [
        p for kind, p in tox_includes if kind == "r" and not REQUIREMENT_FILE.match(p)
    ]
    installed = expand(files.get, requirement_files, tox_lines)
    first = first_test_extra(files)
    extras = list(dict.fromkeys([first] if first else []))
    extras += [e for e in [*tox_extras(files.get("tox.ini")), *installed.project_extras]]
    chosen_groups = [g for g in TEST_NAMES if g in groups][:1]
    extra_packages = ["pytest"]
    names_tests = any(PurePosixPath(p).stem != "requirements" for p in requirement_files)
    if not extras and not chosen_groups and not names_tests:
        tox_remote = [line.text for line in installed.remote if line.source == "tox.ini"]
        extra_packages = tox_remote + extra_packages
    return InstallConfig(
        python=python,
        base_image=base_image,
        extras=list(dict.fromkeys(extras)),
        requirement_files=[p for p in requirement_files if p in files],
        dependency_groups=chosen_groups,
        extra_packages=extra_packages,
        local_requirements=list(dict.fromkeys(line.text for line in installed.local)),
        native_build=compiles_extensions(files),
    )


def requirement_alternatives(files: dict[str, str]) -> list[list[str]]:
    """The test requirement files to install, as alternative sets in the order to try them."""
    return selections([p for p in files if REQUIREMENT_FILE.match(p)])


def build_requires(files: dict[str, str]) -> list[str]:
    """The build backend's requirements (PEP 518), installed unpinned before the project.

    Without a ``build-system`` table, setuptools' own ``setup_requires`` (setup.py's literal
    list, setup.cfg's option) are what the build needs: ``setuptools_scm`` writes the
    ``_version.py`` a 2020 project imports, so a run-time reinstall without it leaves the
    package unimportable.
    """
    requires = toml_table(files.get("pyproject.toml")).get("build-system", {}).get("requires")
    if requires:
        return list(requires)
    return list(dict.fromkeys([*DEFAULT_BUILD_REQUIRES, *setup_requires(files)]))


def setup_requires(files: dict[str, str]) -> list[str]:
    """``setup_requires`` of setup.py (a literal list) and of setup.cfg's ``[options]``."""
    found: list[str] = []
    setup_py = files.get("setup.py", "")
    try:
        tree = ast.parse(setup_py) if setup_py else None
    except (SyntaxError, ValueError):
        tree = None
    scm = False
    for node in ast.walk(tree) if tree is not None else []:
        if not isinstance(node, ast.keyword):
            continue
        if node.arg == "setup_requires" and isinstance(node.value, ast.List | ast.Tuple):
            found += [
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
        scm = scm or node.arg == "use_scm_version"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(files.get("setup.cfg", ""))
        raw = parser.get("options", "setup_requires", fallback="")
    except configparser.Error:
        raw = ""
    found += [line.strip() for line in raw.replace(";", "\n").splitlines() if line.strip()]
    if scm and not any(requirement_name(r) == "setuptools-scm" for r in found):
        found.append("setuptools_scm")
    return list(dict.fromkeys(found))


def group_requirements(pyproject_text: str | None, group: str) -> list[str]:
    """The requirements of a PEP 735 dependency group, ``include-group`` entries expanded."""
    groups: dict[str, list[Any]] = toml_table(pyproject_text).get("dependency-groups", {})
    requirements: list[str] = []
    for entry in groups.get(group, []):
        if isinstance(entry, str):
            requirements.append(entry)
        elif isinstance(entry, dict) and "include-group" in entry:
            requirements += group_requirements(pyproject_text, entry["include-group"])
    return requirements


def tox_deps_lines(text: str | None) -> list[str]:
    """The lines of ``[testenv] deps`` pip can read: ``-r`` includes (``{toxinidir}`` too)
    and requirements; factor-conditional lines (``py38: mock``) and other substitutions are
    left out."""
    raw = _tox_option(text, "deps")
    lines = [line.split("#", 1)[0].strip() for line in raw.splitlines()]
    return [
        line
        for line in lines
        if line and "{" not in line.replace("{toxinidir}", "") and not TOX_FACTOR.match(line)
    ]


def tox_deps(text: str | None) -> list[str]:
    """Plain requirement lines of ``[testenv] deps`` (no options, no substitutions)."""
    return [line for line in tox_deps_lines(text) if not line.startswith("-") and "{" not in line]


def tox_extras(text: str | None) -> list[str]:
    """The project's extras tox installs for its tests (``[testenv] extras``)."""
    raw = _tox_option(text, "extras")
    lines = [line.strip() for line in raw.splitlines() if not TOX_FACTOR.match(line.strip())]
    names = [name.strip() for line in lines for name in line.split(",")]
    return [name for name in names if name and "{" not in name]


def _tox_option(text: str | None, option: str) -> str:
    if not text:
        return ""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return ""
    return parser.get("testenv", option, fallback="")


def _subtree(commit: git.Commit, folder: str) -> git.Tree | None:
    try:
        tree = commit.tree / folder
    except KeyError:
        return None
    return tree if isinstance(tree, git.Tree) else None
