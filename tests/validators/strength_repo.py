"""A generated repository for the strength tests: two merged PRs whose fixes have two hunks
each (one in ``circle_area``, one in ``square_area``, far apart), and whose tests cover both
hunks (PR #2) or only the first (PR #1)."""

from __future__ import annotations

from pathlib import Path

import git

from pipeline.demo.sample_repo import History

REPO_NAME = "example/shapes"
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "shapes"
version = "0.1.0"
requires-python = ">=3.9"

[project.optional-dependencies]
test = ["pytest>=7"]

[tool.setuptools]
py-modules = ["shapes"]
"""
FILLER = "".join(f"\n\ndef unit_{n}():\n    return {n}\n" for n in range(3))  # hunks apart
SHAPES = (
    "import math\n\n\ndef circle_area(radius):\n    return math.pi * radius * radius\n"
    + FILLER
    + "\n\ndef square_area(side):\n    return side * side\n"
)
NEGATIVE = SHAPES.replace(
    "    return math.pi",
    "    if radius < 0:\n        raise ValueError(radius)\n    return math.pi",
).replace(
    "    return side * side",
    "    if side < 0:\n        raise ValueError(side)\n    return side * side",
)
BOOLEANS = NEGATIVE.replace(
    "    if radius < 0:",
    "    if isinstance(radius, bool):\n        raise TypeError(radius)\n    if radius < 0:",
).replace(
    "    if side < 0:",
    "    if isinstance(side, bool):\n        raise TypeError(side)\n    if side < 0:",
)
TESTS = (
    "import pytest\n\nfrom shapes import circle_area, square_area\n\n\n"
    "def test_areas():\n    assert square_area(2) == 4 and circle_area(1) > 3\n"
)
# PR 1 tests the radius only: leaving out square_area's hunk goes unnoticed
TESTS_NEGATIVE = TESTS + (
    "\n\ndef test_negative_radius():\n    with pytest.raises(ValueError):\n"
    "        circle_area(-1)\n"
)
TESTS_BOOLEANS = TESTS_NEGATIVE + (
    "\n\ndef test_boolean_radius():\n    with pytest.raises(TypeError):\n"
    "        circle_area(True)\n"
    "\n\ndef test_boolean_side():\n    with pytest.raises(TypeError):\n        square_area(True)\n"
)
STATEMENTS = {
    1: "Refuse negative sizes\n\nA negative radius or side gives a positive area; it should "
    "raise a ValueError naming the size.",
    2: "Refuse booleans as sizes\n\nsquare_area(True) is 1 instead of an error; a boolean "
    "size should raise a TypeError.",
}


def write_strength_repo(folder: Path) -> git.Repo:
    """The repository: an initial commit, then PR 1 (weak tests) and PR 2 (strong), merged."""
    repo = git.Repo.init(folder, initial_branch="main")
    history = History(repo)
    files = {"pyproject.toml": PYPROJECT, "shapes.py": SHAPES, "tests/test_shapes.py": TESTS}
    history.commit("Initial commit", files)
    for number, shapes, tests in ((1, NEGATIVE, TESTS_NEGATIVE), (2, BOOLEANS, TESTS_BOOLEANS)):
        files = {"shapes.py": shapes, "tests/test_shapes.py": tests}
        title = STATEMENTS[number].splitlines()[0]
        history.merged_pull(number, f"pr-{number}", files, title, STATEMENTS[number])
    return repo
