"""Detect how to install a Python repository for its tests, from its files at one commit.

The recipe is an ``InstallConfig``: the project installed with whichever test extras it
declares (``test``, ``tests``, ``testing``, then ``dev``) in ``pyproject.toml``, ``setup.cfg``
or ``setup.py``; its PEP 735 dependency groups of those names; its test requirement files
(``requirements/test*.txt``, ``requirements-test*.txt``, ``test-requirements.txt``...); tox's
``deps`` where nothing else names test dependencies; and pytest, which also runs plain
``unittest`` suites. Nothing is executed on the host: files are read from the git tree.

``dependency_state`` is what decides the environment, normalised so that a release that only
bumps ``version`` does not make a new image.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import PurePosixPath
from typing import Any

import git

from pipeline.records import InstallConfig

TEST_NAMES = ("test", "tests", "testing", "dev")
DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "tox.ini")
REQUIREMENT_FILE = re.compile(
    r"^(requirements/(tests?|testing)[\w.-]*\.(txt|in)"
    r"|requirements[-_](tests?|testing)\.txt|(tests?|testing)[-_]requirements\.txt"
    r"|requirements\.txt)$"
)
# "tests": [...] in an extras_require dict, or EXTRAS_REQUIRE["tests"] = ... (attrs' style)
SETUP_PY_EXTRA = re.compile(r"""["'](tests?|testing|dev)["']\s*[:\]]""")
VERSION_LINE = re.compile(r"^\s*version\s*=.*$", re.MULTILINE)
DEFAULT_BUILD_REQUIRES = ["setuptools>=61", "wheel"]


def read_file(commit: git.Commit, path: str) -> str | None:
    """The text of ``path`` at ``commit``, or None when it is absent."""
    try:
        blob = commit.tree / path
    except KeyError:
        return None
    data: bytes = blob.data_stream.read()
    return data.decode("utf-8", errors="replace")


def dependency_files(commit: git.Commit) -> dict[str, str]:
    """The files whose contents decide the environment, by path."""
    files = {p: read_file(commit, p) for p in DEPENDENCY_FILES}
    for folder in ("", "requirements"):
        tree = commit.tree if not folder else _subtree(commit, folder)
        for blob in tree.blobs if tree is not None else []:
            path = str(PurePosixPath(folder, blob.name)) if folder else blob.name
            if REQUIREMENT_FILE.match(path):
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
    state["tox-deps"] = tox_deps(files.get("tox.ini"))
    state.update({p: t for p, t in files.items() if REQUIREMENT_FILE.match(p)})
    return state


def detect_recipe(files: dict[str, str], python: str, base_image: str) -> InstallConfig:
    pyproject = toml_table(files.get("pyproject.toml"))
    declared = set(pyproject.get("project", {}).get("optional-dependencies", {}))
    declared |= _setup_cfg_extras(files.get("setup.cfg"))
    declared |= set(SETUP_PY_EXTRA.findall(files.get("setup.py", "")))
    groups = set(pyproject.get("dependency-groups", {}))
    requirement_files = [p for p in files if REQUIREMENT_FILE.match(p)]
    extras = [_first(declared)] if _first(declared) else []
    chosen_groups = [g for g in TEST_NAMES if g in groups][:1]
    extra_packages = ["pytest"]
    if not extras and not chosen_groups and not any("test" in p for p in requirement_files):
        extra_packages = tox_deps(files.get("tox.ini")) + extra_packages
    return InstallConfig(
        python=python,
        base_image=base_image,
        extras=extras,
        requirement_files=requirement_files,
        dependency_groups=chosen_groups,
        extra_packages=extra_packages,
    )


def richer_extras(files: dict[str, str], current: list[str]) -> list[str]:
    """Every test-like extra the project declares, for a fallback when one is not enough."""
    pyproject = toml_table(files.get("pyproject.toml"))
    declared = set(pyproject.get("project", {}).get("optional-dependencies", {}))
    declared |= _setup_cfg_extras(files.get("setup.cfg"))
    declared |= set(SETUP_PY_EXTRA.findall(files.get("setup.py", "")))
    richer = [name for name in TEST_NAMES if name in declared]
    return richer if set(richer) != set(current) else []


def build_requires(files: dict[str, str]) -> list[str]:
    """The build backend's requirements (PEP 518), installed unpinned before the project."""
    requires = toml_table(files.get("pyproject.toml")).get("build-system", {}).get("requires")
    return list(requires) if requires else list(DEFAULT_BUILD_REQUIRES)


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


def tox_deps(text: str | None) -> list[str]:
    """Plain requirement lines of ``[testenv] deps`` (no ``-r``, no substitutions)."""
    if not text:
        return []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    raw = parser.get("testenv", "deps", fallback="")
    lines = [line.split("#", 1)[0].strip() for line in raw.splitlines()]
    return [
        line
        for line in lines
        if line
        and not line.startswith("-")
        and "{" not in line
        and ":" not in line.split(";", 1)[0]
    ]


def toml_table(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _subtree(commit: git.Commit, folder: str) -> git.Tree | None:
    try:
        tree = commit.tree / folder
    except KeyError:
        return None
    return tree if isinstance(tree, git.Tree) else None


def _first(declared: set[str]) -> str:
    return next((name for name in TEST_NAMES if name in declared), "")


def _setup_cfg_extras(text: str | None) -> set[str]:
    if not text:
        return set()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return set()
    if not parser.has_section("options.extras_require"):
        return set()
    return set(parser.options("options.extras_require"))
