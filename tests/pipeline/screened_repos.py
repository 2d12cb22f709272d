"""Real git repositories whose merged PRs make the same change, for the screening tests.

Each repository holds ``shapes.py`` with ``lines_before`` lines of its own on top, so the same
fix lands at other line numbers (a fork, a backport, a vendored copy), and one PR merged with
a merge commit whose message is the problem statement.
"""

from __future__ import annotations

from pathlib import Path

import git

from extractors.candidates import build_candidates
from extractors.git_history import find_merged_pulls
from pipeline.core.records import Outcome, Task
from pipeline.demo.sample_repo import History

SHAPES_BEFORE = "import math\n\n\ndef circle_area(radius):\n    return math.pi * radius * radius\n"
SHAPES_AFTER = (
    "import math\n\n\ndef circle_area(radius):\n"
    "    if radius < 0:\n"
    '        raise ValueError(f"radius must not be negative: {radius}")\n'
    "    return math.pi * radius * radius\n"
)
TEST_BEFORE = "from shapes import circle_area\n\n\ndef test_area():\n    assert circle_area(1)\n"
TEST_AFTER = TEST_BEFORE + (
    "\n\ndef test_negative():\n    import pytest\n\n"
    "    with pytest.raises(ValueError):\n        circle_area(-1)\n"
)
STATEMENT = (
    "Reject a negative radius in circle_area\n\n"
    "circle_area(-2) returns a positive area where a negative radius should be refused with "
    "a ValueError that names the radius it was given."
)


def repo_with_fix(
    folder: Path,
    number: int,
    lines_before: int = 0,
    statement: str = STATEMENT,
    fix: str = SHAPES_AFTER,
) -> git.Repo:
    """A repository whose PR ``number`` makes ``fix`` of ``shapes.py``, merged into main."""
    repo = git.Repo.init(folder, initial_branch="main")
    history = History(repo)
    own = "".join(f"# vendored copy, line {n}\n" for n in range(lines_before))
    history.commit(
        "Initial commit", {"shapes.py": own + SHAPES_BEFORE, "test_shapes.py": TEST_BEFORE}
    )
    history.branch("fix")
    history.commit(
        "Reject a negative radius", {"shapes.py": own + fix, "test_shapes.py": TEST_AFTER}
    )
    history.checkout("main")
    history.merge("fix", f"Merge pull request #{number} from alice/fix\n\n{statement}")
    return repo


def verified_candidate(repo: git.Repo, name: str) -> Task:
    """The one PR of ``repo`` mined as ``name``'s candidate, marked verified as a validation
    would (the screening tests run no container)."""
    (candidate,) = build_candidates(repo, name, find_merged_pulls(repo, "main"))
    assert candidate.outcome is None, candidate.outcome_detail
    return candidate.with_verdict(
        Outcome.VERIFIED, "", fail_to_pass=["test_shapes.py::test_negative"]
    )
