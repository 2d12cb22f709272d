"""Classify the files a pull request changes: test, source, or kept out (docs, changelogs, CI).

The test rules are the language profile's (``pipeline.core.languages``; Python's by default),
so the substring "test" anywhere in a path decides nothing (``src/pytest_helpers.py`` and
``attestation.py`` are source). In Python:

- test: a path with a folder named ``tests``/``test``/``testing`` (test data under it too),
  or a file named ``test_*.py``, ``*_test.py`` or ``conftest.py``;
- docs: a folder named ``docs``/``doc``, changelog fragments (``changelog.d``, ``changes``,
  ``newsfragments``), and prose files at any depth (``*.rst``, ``*.md``, ``*.txt`` named like
  CHANGES, HISTORY, NEWS, README, AUTHORS, CONTRIBUTING, LICENSE...);
- ci: ``.github/`` and other CI or editor configuration that no test run reads;
- source: everything else (packaging files such as ``pyproject.toml`` included, since a fix
  may need them).

Docs and CI files are kept out of both patches and listed on the task. The docs and CI rules
are the same in every language and are decided first; the whole change of a pull request is
classified with the rules of its one language (``choose_language``), never file by file.
"""

from __future__ import annotations

import enum
from pathlib import PurePosixPath

from pipeline.core.languages import Language, profile_of

DOC_DIRS = frozenset({"docs", "doc", "changelog.d", "changes", "newsfragments", "news"})
PROSE_SUFFIXES = frozenset({".rst", ".md", ".txt", ".adoc", ""})
PROSE_STEMS = frozenset(
    {
        "changes",
        "changelog",
        "history",
        "news",
        "readme",
        "authors",
        "contributors",
        "contributing",
        "license",
        "licence",
        "copying",
        "notice",
        "code_of_conduct",
        "security",
        "releasing",
    }
)
CI_PREFIXES = (".github/", ".gitlab/", ".circleci/", ".azure-pipelines/", ".vscode/", ".idea/")
CI_FILES = frozenset(
    {
        ".travis.yml",
        "appveyor.yml",
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
        ".readthedocs.yml",
        ".readthedocs.yaml",
        ".gitignore",
        ".gitattributes",
        ".mailmap",
        ".editorconfig",
        "codecov.yml",
        ".coveragerc",
    }
)


class FileKind(enum.StrEnum):
    """What a changed file is, by its path: a test, source, documentation or CI file."""

    TEST = "test"
    SOURCE = "source"
    DOCS = "docs"
    CI = "ci"


def classify_path(path: str, language: Language = Language.PYTHON) -> FileKind:
    """The kind of one repository-relative POSIX path, by the test rules of ``language``."""
    pure = PurePosixPath(path)
    folders = [part.lower() for part in pure.parts[:-1]]
    name = pure.name.lower()
    if path.startswith(CI_PREFIXES) or path in CI_FILES:
        return FileKind.CI
    if profile_of(language).is_test_path(path):
        return FileKind.TEST
    if any(folder in DOC_DIRS for folder in folders):
        return FileKind.DOCS
    stem = name.split(".", 1)[0]
    if pure.suffix.lower() in PROSE_SUFFIXES and stem in PROSE_STEMS:
        return FileKind.DOCS
    if pure.suffix.lower() in {".rst", ".md", ".adoc"}:
        return FileKind.DOCS
    return FileKind.SOURCE


def is_test_module(path: str) -> bool:
    """Whether pytest would collect this file by its default name patterns."""
    return profile_of(Language.PYTHON).is_test_file(path)
