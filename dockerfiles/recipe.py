"""Detect how to install a Python repository for its tests, from its files at one commit.

The recipe is an ``InstallConfig``: the project installed with whichever test extras it
declares (``test``, ``tests``, ``testing``, then ``dev``) in ``pyproject.toml``, ``setup.cfg``
or ``setup.py``; its PEP 735 dependency groups of those names; its test requirement files
(``requirements/test*.txt``, ``requirements-test*.txt``, ``test-requirements.txt``...); and
pytest. Nothing is executed on the host: files are read from the git tree.
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
DEPENDENCY_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
REQUIREMENT_FILE = re.compile(
    r"^(requirements/(tests?|testing)[\w.-]*\.(txt|in)"
    r"|requirements[-_](tests?|testing)\.txt|(tests?|testing)[-_]requirements\.txt"
    r"|requirements\.txt)$"
)
SETUP_PY_EXTRA = re.compile(r"""["'](tests?|testing|dev)["']\s*:""")


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
    for blob in commit.tree.traverse():
        path = str(PurePosixPath(blob.path))  # type: ignore[union-attr]
        if REQUIREMENT_FILE.match(path):
            files[path] = read_file(commit, path)
    return {path: text for path, text in sorted(files.items()) if text is not None}


def detect_recipe(commit: git.Commit, python: str, base_image: str) -> InstallConfig:
    files = dependency_files(commit)
    pyproject = _toml(files.get("pyproject.toml"))
    declared = set(pyproject.get("project", {}).get("optional-dependencies", {}))
    declared |= _setup_cfg_extras(files.get("setup.cfg"))
    declared |= set(SETUP_PY_EXTRA.findall(files.get("setup.py", "")))
    groups = set(pyproject.get("dependency-groups", {}))
    requirement_files = [p for p in files if p.endswith((".txt", ".in"))]
    return InstallConfig(
        python=python,
        base_image=base_image,
        extras=[_first(declared)] if _first(declared) else [],
        requirement_files=requirement_files,
        dependency_groups=[g for g in TEST_NAMES if g in groups][:1],
        extra_packages=["pytest"],
    )


def group_requirements(pyproject_text: str | None, group: str) -> list[str]:
    """The requirements of a PEP 735 dependency group, ``include-group`` entries expanded."""
    groups: dict[str, list[Any]] = _toml(pyproject_text).get("dependency-groups", {})
    requirements: list[str] = []
    for entry in groups.get(group, []):
        if isinstance(entry, str):
            requirements.append(entry)
        elif isinstance(entry, dict) and "include-group" in entry:
            requirements += group_requirements(pyproject_text, entry["include-group"])
    return requirements


def _first(declared: set[str]) -> str:
    return next((name for name in TEST_NAMES if name in declared), "")


def _toml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


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
