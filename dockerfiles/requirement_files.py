"""Which requirement files name test dependencies, and which of them are alternatives.

Test and development requirement files are recognised by name, in the root and in
``requirements/``: ``requirements.txt``; ``requirements-test.txt``, ``requirements_dev.txt``,
``requirements-testing.txt``; ``test-requirements.txt``, ``dev-requirements.txt``;
``requirements/tests.txt``, ``requirements/dev.txt``, ``requirements/development.txt``,
``requirements/test-py3.txt``... (``.txt`` or ``.in``).

Some of them are *alternatives*, never installed together:

- ``X.in`` beside ``X.txt`` is the source ``X.txt`` was compiled from (pip-tools): the compiled
  file comes first, its source after it;
- ``X-min.txt``, ``X-minimum.txt``, ``X-oldest.txt``, ``X-pallets-min.txt`` pin the oldest
  supported versions of what ``X.txt`` pins at their newest: tried after ``X``;
- ``tests-dev.txt``, ``tests-pallets-dev.txt``, ``tests-latest.txt`` install what the tests
  file ``tests.txt`` names from development sources (often URLs of other repositories): tried
  last. Only a tests file has such variants: ``requirements-dev.txt`` is a file of its own.

Files are grouped into families by that stem; the first selection takes every family's first
choice, each later one tries one family's next choice with the other families' first.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

TEST_WORDS = r"(tests?|testing|dev|devel|develop|development)"
REQUIREMENT_FILE = re.compile(
    rf"^(requirements[-_]{TEST_WORDS}([-_.][\w.-]*)?\.(txt|in)"
    rf"|{TEST_WORDS}[-_]requirements([-_.][\w.-]*)?\.(txt|in)"
    r"|requirements\.(txt|in)"
    rf"|requirements/{TEST_WORDS}([-_.][\w.-]*)?\.(txt|in))$"
)
MINIMUM_VARIANT = re.compile(r"^(?P<stem>.+?)[-_.](min|minimum|oldest|lowest)$")
UPSTREAM_VARIANT = re.compile(r"^(?P<stem>.+?)[-_.](dev|latest|pre|upstream|nightly|main)$")
TESTS_FILE = re.compile(r"^(tests?|testing)$")
SEGMENT = re.compile(r"[-_.][^-_.]+$")
MAX_SELECTIONS = 4


def family(path: str, stems: set[str]) -> tuple[str, int]:
    """The stem a file is an alternative within, and its rank there (0 is tried first).

    A minimum variant belongs to the longest stem of the other files that its name starts
    with (``tests-pallets-min`` to ``tests``), never past a test word
    (``requirements-dev-min`` is not a variant of ``requirements``), else to its name without
    the suffix.
    """
    pure = PurePosixPath(path)
    stem, rank = pure.stem, 0
    minimum = MINIMUM_VARIANT.match(stem)
    upstream = UPSTREAM_VARIANT.match(stem) if minimum is None else None
    if upstream is not None:
        found = _variant_of(pure, upstream.group("stem"), stems)
        if found is not None and TESTS_FILE.match(PurePosixPath(found).name):
            stem, rank = PurePosixPath(found).name, 3
    if minimum:
        stem, rank = minimum.group("stem"), 2
        candidate = stem
        while candidate and str(pure.with_name(candidate)) not in stems:
            shorter = SEGMENT.sub("", candidate)
            if shorter == candidate or re.fullmatch(TEST_WORDS, candidate[len(shorter) + 1 :]):
                candidate = ""  # "requirements-dev-min" is no variant of "requirements"
            else:
                candidate = shorter
        stem = candidate or stem
    if pure.suffix == ".in":
        rank += 1
    return str(pure.with_name(stem)), rank


def _variant_of(pure: PurePosixPath, stem: str, stems: set[str]) -> str | None:
    """The other file whose name ``stem`` (or a shorter prefix of it) is, if any."""
    candidate = stem
    while candidate:
        if str(pure.with_name(candidate)) in stems:
            return str(pure.with_name(candidate))
        shorter = SEGMENT.sub("", candidate)
        candidate = "" if shorter == candidate else shorter
    return None


def selections(paths: list[str]) -> list[list[str]]:
    """The requirement files to install, as alternatives in the order to try them.

    The first selection is the one the recipe installs: every family's first choice.
    """
    plain = {
        str(PurePosixPath(p).with_suffix(""))
        for p in paths
        if not MINIMUM_VARIANT.match(PurePosixPath(p).stem)
        and not UPSTREAM_VARIANT.match(PurePosixPath(p).stem)
    }
    families: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(paths):
        stem, rank = family(path, plain)
        families.setdefault(stem, []).append((rank, path))
    ordered = {stem: [p for _, p in sorted(members)] for stem, members in families.items()}
    first = [members[0] for members in ordered.values()]
    found = [first]
    for members in ordered.values():
        for alternative in members[1:]:
            found.append([alternative if m == members[0] else m for m in first])
    return found[:MAX_SELECTIONS]
