"""Choose the Python of a commit's era from what the repository says at that commit.

Evidence, read from the git tree: ``requires-python`` (pyproject.toml), ``python_requires``
(setup.cfg, setup.py), ``Programming Language :: Python :: 3.X`` classifiers, and tox's
``py3X`` environments. The versions the project *claims* (classifiers, tox) say what it was
tested on; ``requires-python`` says what it allows.

Order of preference among the available bases: allowed and at most the newest claimed version,
newest first; then allowed versions above it, oldest first; then the rest, nearest first (a
last resort the fallback chain may still need). With no claim at all, the default Python is
taken as the claim.
"""

from __future__ import annotations

import contextlib
import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from dockerfiles.packaging_text import toml_table

CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)")
TOX_ENV = re.compile(r"\bpy3(\d+)\b")
PYTHON_REQUIRES = re.compile(r"python_requires\s*=\s*['\"]?([^'\"\n]+)")


def python_evidence(files: dict[str, str]) -> tuple[SpecifierSet, list[str]]:
    """The allowed range and the claimed versions, from the dependency files' texts."""
    specifier = SpecifierSet()
    requires = toml_table(files.get("pyproject.toml")).get("project", {}).get("requires-python")
    texts = [files.get("setup.cfg", ""), files.get("setup.py", "")]
    if not requires:
        found = next((m.group(1) for t in texts if (m := PYTHON_REQUIRES.search(t))), None)
        requires = found.strip() if found else None
    if requires:
        with contextlib.suppress(InvalidSpecifier):
            specifier = SpecifierSet(requires)
    claimed = set(CLASSIFIER.findall("\n".join([files.get("pyproject.toml", ""), *texts])))
    claimed |= {f"3.{minor}" for minor in TOX_ENV.findall(files.get("tox.ini", ""))}
    return specifier, sorted(claimed, key=Version)


def choose_pythons(files: dict[str, str], available: list[str], default: str) -> list[str]:
    """The available Python versions, best first, for a commit with these files."""
    specifier, claimed = python_evidence(files)
    allowed = [v for v in available if Version(v) in specifier]
    newest_claimed = Version(claimed[-1]) if claimed else None
    if newest_claimed is None:  # nothing claimed: the default if allowed, then nearest to it
        newest_claimed = Version(default)
        preferred = sorted(
            allowed, key=lambda v: abs(_minor(Version(v)) - _minor(Version(default)))
        )
    else:
        within = [v for v in allowed if Version(v) <= newest_claimed]
        above = [v for v in allowed if Version(v) > newest_claimed]
        preferred = sorted(within, key=Version, reverse=True) + sorted(above, key=Version)
    anchor = newest_claimed or Version(max(available, key=Version))
    rest = [v for v in available if v not in preferred]
    rest.sort(key=lambda v: abs(_minor(Version(v)) - _minor(anchor)))
    return preferred + rest


def _minor(version: Version) -> int:
    return version.major * 100 + version.minor
