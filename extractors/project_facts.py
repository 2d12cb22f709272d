"""What a repository says of itself at a commit: its licence (SPDX id) and its version.

Both are read from git objects at the base commit, never from a checkout, and never fail a
candidate: a fact that cannot be read is "" (unknown). ``facts_at`` reads the files of many
commits with two ``git cat-file`` processes in all (``--batch-check`` for every commit's
candidate files, then ``--batch`` for each distinct blob once), so mining thousands of PRs pays
no process per PR, and a partial clone whose objects cannot be fetched costs only the facts.

- **Licence**: the packaging files' own statement first — PEP 639 ``license = "MIT"`` in
  ``pyproject.toml``, ``license = {text = "MIT"}`` when it is an SPDX id, or a
  ``License :: OSI Approved :: ...`` classifier — else the licence file in the root
  (``LICENSE``, ``LICENCE``, ``COPYING``, with or without ``.txt``/``.md``/``.rst``), matched
  against ``SIGNATURES``: phrases each licence's text carries and the others do not.
- **Version**: ``[project] version`` (not when ``dynamic``), ``[tool.poetry] version``,
  ``setup.cfg``'s ``[metadata] version`` (not ``attr:``/``file:``), or a literal
  ``version="..."`` in ``setup.py``'s ``setup()`` call, whose syntax tree is read, never run.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import subprocess
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from extractors.git_batch import git_output, read_blobs

LICENSE_FILES = [
    f"{stem}{suffix}"
    for stem in ("LICENSE", "LICENCE", "COPYING", "License", "license")
    for suffix in ("", ".txt", ".md", ".rst")
]
# The licence files' signature phrases, checked in order (the more specific first), on text
# lowercased with whitespace collapsed.
SIGNATURES: list[tuple[str, tuple[str, ...]]] = [
    ("AGPL-3.0", ("gnu affero general public license", "version 3")),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1")),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("MIT", ("permission is hereby granted, free of charge", "the above copyright notice")),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("PSF-2.0", ("python software foundation license",)),
    ("Zlib", ("this software is provided 'as-is'", "altered source versions must be plainly")),
]
CLASSIFIERS = {
    "MIT License": "MIT",
    "BSD License": "",  # which BSD is not said: the licence file decides
    "Apache Software License": "Apache-2.0",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "GNU Affero General Public License v3": "AGPL-3.0",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
}
SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


PACKAGING_FILES = ["pyproject.toml", "setup.cfg", "setup.py"]


@dataclass(frozen=True)
class ProjectFacts:
    """The licence and version of a project at one commit; "" for what is unknown."""

    license: str = ""
    version: str = ""


def facts_at(git_dir: str | os.PathLike[str], commits: Sequence[str]) -> dict[str, ProjectFacts]:
    """The facts of each of ``commits``; a commit whose files cannot be read gets none."""
    unique = list(dict.fromkeys(commits))
    try:
        files = _root_files(str(git_dir), unique)
    except (OSError, subprocess.SubprocessError, ValueError):
        files = {}
    return {
        commit: ProjectFacts(licence_id(files[commit]), project_version(files[commit]))
        if commit in files
        else ProjectFacts()
        for commit in unique
    }


def _root_files(git_dir: str, commits: list[str]) -> dict[str, dict[str, str]]:
    """Commit -> the packaging and licence files of its root that exist, by name."""
    names = [*PACKAGING_FILES, *LICENSE_FILES]
    asked = [f"{commit}:{name}" for commit in commits for name in names]
    checked = git_output(git_dir, ["cat-file", "--batch-check"], "".join(f"{a}\n" for a in asked))
    blob_of: dict[tuple[str, str], str] = {}
    for (commit, name), line in zip(
        ((c, n) for c in commits for n in names), checked.decode().splitlines(), strict=True
    ):
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            blob_of[commit, name] = parts[0]
    blobs = read_blobs(git_dir, list(blob_of.values()))
    found: dict[str, dict[str, str]] = {commit: {} for commit in commits}
    for (commit, name), blob in blob_of.items():
        if blob in blobs:
            found[commit][name] = blobs[blob]
    return found


def _pyproject(files: Mapping[str, str]) -> dict[str, Any]:
    text = files.get("pyproject.toml")
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def licence_id(files: Mapping[str, str]) -> str:
    """The SPDX id of the project's licence in its root ``files``, "" when it cannot be told."""
    project = _pyproject(files).get("project", {})
    stated = project.get("license") if isinstance(project, dict) else None
    if isinstance(stated, dict):
        stated = stated.get("text")
    if isinstance(stated, str) and SPDX_ID.match(stated.strip()):
        return stated.strip()
    classifiers = project.get("classifiers", []) if isinstance(project, dict) else []
    for classifier in classifiers if isinstance(classifiers, list) else []:
        found = CLASSIFIERS.get(str(classifier).rsplit(" :: ", 1)[-1])
        if found:
            return found
    for name in LICENSE_FILES:
        text = files.get(name)
        if text:
            return licence_of_text(text)
    return ""


def licence_of_text(text: str) -> str:
    """The SPDX id whose signature phrases ``text`` carries, "" when none matches."""
    flat = " ".join(text.lower().split())
    for spdx, phrases in SIGNATURES:
        if all(phrase in flat for phrase in phrases):
            return spdx
    return ""


def project_version(files: Mapping[str, str]) -> str:
    """The version the packaging ``files`` state literally, "" when none does."""
    pyproject = _pyproject(files)
    project = pyproject.get("project", {})
    if isinstance(project, dict) and isinstance(project.get("version"), str):
        return str(project["version"])
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if isinstance(poetry, dict) and isinstance(poetry.get("version"), str):
        return str(poetry["version"])
    return _setup_cfg_version(files.get("setup.cfg")) or _setup_py_version(files.get("setup.py"))


def _setup_cfg_version(text: str | None) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        return ""
    version = parser.get("metadata", "version", fallback="").strip()
    return "" if version.startswith(("attr:", "file:")) else version


def _setup_py_version(text: str | None) -> str:
    try:
        module = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return ""
    for node in ast.walk(module):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup"
        ):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "version" and isinstance(value, ast.Constant):
                    return str(value.value) if isinstance(value.value, str) else ""
    return ""
