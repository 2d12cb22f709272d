"""The embedded default: a small Python library whose history is nine merged pull requests.

``make demo`` mines this repository, and the tests assert that each PR ends exactly as designed
(``DESIGNED_OUTCOMES``): four verified tasks, one per way a PR reaches the branch (merge commit,
squash, rebase, local merge), and one rejection for each common reason. Dates, authors and
contents are fixed, so the commit ids are the same on every machine; ``is_current`` tells
whether a repository written earlier is still exactly what this module writes (its stamp, the
module's digest and the head commit, and a clean tree), so ``taskforge demo`` writes it again
only when it is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

from pipeline.core.records import Outcome

SAMPLE_REPO_NAME = "taskforge/tinytext"
GENERATOR = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]  # this module's text
STAMP = "taskforge-sample"  # in the repository's .git: the generator and the head it wrote
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

DESIGNED_OUTCOMES: dict[int, Outcome] = {
    1: Outcome.VERIFIED,  # merge commit; branched before #2 landed
    2: Outcome.VERIFIED,  # squash merge with refs/pull/2/head
    3: Outcome.DOCS_ONLY,
    4: Outcome.NO_TEST_CHANGE,  # squash merge without a PR ref
    5: Outcome.NO_FAIL_TO_PASS,  # the new test already passes before the fix
    6: Outcome.FIX_BREAKS_TESTS,
    7: Outcome.NO_SOURCE_CHANGE,
    8: Outcome.VERIFIED,  # rebase merge, found through refs/pull/8/head
    9: Outcome.VERIFIED,  # local merge of refs/pull/9/head
}

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "tinytext"
version = "0.1.0"
requires-python = ">=3.9"

[project.optional-dependencies]
test = ["pytest>=7"]

[tool.setuptools]
packages = ["tinytext"]
"""

CORE_V0 = '''\
"""Small text helpers."""


def slugify(text):
    return text.lower().replace(" ", "-")


def word_count(text):
    return len(text.split(" "))


def truncate(text, width):
    return text[:width]
'''

TESTS_V0 = """\
from tinytext import core


def test_slugify_simple():
    assert core.slugify("Hello World") == "hello-world"


def test_word_count_simple():
    assert core.word_count("a b c") == 3


def test_truncate_short():
    assert core.truncate("abc", 5) == "abc"
"""

TEST_WORDS = """\
import pytest

from tinytext import core


class TestWordCount:
    @pytest.mark.parametrize(
        ("text", "expected"), [("a  b", 2), (" lead", 1), ("two words", 2)]
    )
    def test_counts(self, text, expected):
        assert core.word_count(text) == expected
"""

TEST_TRUNCATE = """\
from tinytext import core


def test_truncate_plain():
    assert core.truncate("abcdef", 3) == "abc"


def test_truncate_ellipsis():
    assert core.truncate("abcdef", 4, ellipsis=True) == "abc\\u2026"
"""

TEST_SLUG = """\
from tinytext import core


def test_slugify_strips_whitespace():
    assert core.slugify("  Hello  ") == "hello"
"""


class History:
    """Writes commits with fixed authors and dates, one minute apart."""

    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self.clock = START

    @contextmanager
    def _dated(self, author: str) -> Iterator[None]:
        self.clock += timedelta(minutes=1)
        stamp = self.clock.isoformat()
        with self.repo.git.custom_environment(
            GIT_AUTHOR_NAME=author,
            GIT_AUTHOR_EMAIL=f"{author}@example.org",
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_NAME="Maintainer",
            GIT_COMMITTER_EMAIL="maintainer@example.org",
            GIT_COMMITTER_DATE=stamp,
        ):
            yield

    def write(self, files: dict[str, str]) -> None:
        """Write ``files`` into the work tree and stage everything."""
        root = Path(self.repo.working_dir)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        self.repo.git.add("--all")

    def commit(self, message: str, files: dict[str, str], author: str = "alice") -> str:
        """Commit ``files`` as ``author`` at the history's next date; returns the commit."""
        self.write(files)
        with self._dated(author):
            self.repo.git.commit("--quiet", "-m", message)
        return self.repo.head.commit.hexsha

    def branch(self, name: str, start: str = "main") -> None:
        """Create and check out branch ``name`` at ``start``."""
        self.repo.git.checkout("--quiet", "-b", name, start)

    def checkout(self, name: str) -> None:
        """Check out ``name``."""
        self.repo.git.checkout("--quiet", name)

    def merge(self, branch: str, message: str) -> None:
        """Merge ``branch`` with a merge commit, as GitHub's merge button does."""
        with self._dated("maintainer"):
            self.repo.git.merge("--quiet", "--no-ff", branch, "-m", message)

    def merged_pull(
        self, number: int, branch: str, files: dict[str, str], title: str, body: str = ""
    ) -> None:
        """PR ``number``: ``files`` committed on ``branch`` as bob, merged into main with
        GitHub's merge message (``title``, then ``body``, as the PR's description)."""
        self.branch(branch)
        self.commit(title, files, author="bob")
        self.checkout("main")
        self.merge(branch, f"Merge pull request #{number} from bob/{branch}\n\n{body or title}")

    def cherry_pick(self, commits: str) -> None:
        """Cherry-pick ``commits`` (a backport)."""
        with self._dated("maintainer"):
            self.repo.git.cherry_pick(commits)

    def pull_ref(self, number: int, branch: str) -> None:
        """Keep ``branch`` as GitHub's ``refs/pull/N/head`` and delete the branch."""
        self.repo.git.update_ref(f"refs/pull/{number}/head", branch)
        self.repo.git.branch("-D", branch)


def write_sample_repo(path: Path) -> Path:
    """Create the sample repository at ``path`` (which must not exist) and return it."""
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    core = CORE_V0
    history.commit(
        "Initial commit",
        {
            "pyproject.toml": PYPROJECT,
            "tinytext/__init__.py": '"""tinytext."""\n',
            "tinytext/core.py": core,
            "tests/test_core.py": TESTS_V0,
            "README.md": "# tinytext\n\nSmall text helpers.\n",
            "CHANGES.md": "# Changes\n",
            "docs/index.md": "# tinytext\n",
        },
    )
    _pull_1_and_2(history)
    _pulls_3_to_7(history)
    _pulls_8_and_9(history)
    (Path(repo.git_dir) / STAMP).write_text(f"{GENERATOR} {repo.head.commit.hexsha}\n")
    return path


def is_current(path: Path) -> bool:
    """Whether ``path`` holds the sample repository as this module writes it, untouched."""
    try:
        repo = git.Repo(path)
        stamp = (Path(repo.git_dir) / STAMP).read_text().split()
        head = repo.head.commit.hexsha
    except (OSError, ValueError, git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False
    return stamp == [GENERATOR, head] and not repo.is_dirty(untracked_files=True)


def _pull_1_and_2(history: History) -> None:
    # PR #1 branches from the first commit; PR #2 lands before it, so #1's base is not its
    # merge commit's first parent.
    history.branch("fix-word-count")
    history.commit(
        "Count words separated by several spaces",
        {
            "tinytext/core.py": CORE_V0.replace('text.split(" ")', "text.split()"),
            "tests/test_core.py": TESTS_V0.replace(
                "\n\ndef test_truncate_short",
                "\n\ndef test_word_count_collapses_spaces():\n"
                '    assert core.word_count("a   b") == 2\n\n\ndef test_truncate_short',
            ),
            "tests/test_words.py": TEST_WORDS,
            "CHANGES.md": "# Changes\n\n- word_count collapses runs of spaces.\n",
        },
        author="bob",
    )
    history.checkout("main")
    history.branch("title-case")
    core_v1 = (
        CORE_V0
        + "\n\ndef title_case(text):\n"
        + '    return " ".join(w.capitalize() for w in text.split(" "))\n'
    )
    tests_v1 = (
        TESTS_V0 + '\n\ndef test_title_case():\n    assert core.title_case("ab cd") == "Ab Cd"\n'
    )
    history.commit("Add title_case", {"tinytext/core.py": core_v1, "tests/test_core.py": tests_v1})
    history.checkout("main")
    history.commit(
        "Add title_case helper (#2)\n\nA helper that capitalises every word.",
        {"tinytext/core.py": core_v1, "tests/test_core.py": tests_v1},
    )
    history.pull_ref(2, "title-case")
    history.merge(
        "fix-word-count",
        "Merge pull request #1 from bob/fix-word-count\n\n"
        "word_count miscounts text with several spaces\n\n"
        '`word_count("a   b")` returns 4 instead of 2. Fixes #11.',
    )
    history.repo.git.branch("-D", "fix-word-count")


def _pulls_3_to_7(history: History) -> None:
    repo_root = Path(history.repo.working_dir)
    core = (repo_root / "tinytext/core.py").read_text()
    tests = (repo_root / "tests/test_core.py").read_text()

    history.branch("docs-usage")
    history.commit(
        "Document usage",
        {
            "docs/usage.md": "# Usage\n\n`slugify`, `word_count`, `truncate`.\n",
            "README.md": "# tinytext\n\nSmall text helpers. See docs/usage.md.\n",
        },
    )
    history.checkout("main")
    history.merge("docs-usage", "Merge pull request #3 from alice/docs-usage\n\nDocument usage")
    history.repo.git.branch("-D", "docs-usage")

    history.commit(
        "Export the public helpers (#4)",
        {"tinytext/__init__.py": '"""tinytext."""\n\n__all__ = ["core"]\n'},
    )

    history.branch("truncate-refactor")
    core = core.replace(
        "    return text[:width]\n",
        "    if len(text) <= width:\n        return text\n    return text[:width]\n",
    )
    tests += '\n\ndef test_truncate_exact():\n    assert core.truncate("abc", 3) == "abc"\n'
    history.commit(
        "Return short text unchanged", {"tinytext/core.py": core, "tests/test_core.py": tests}
    )
    history.checkout("main")
    history.merge(
        "truncate-refactor",
        "Merge pull request #5 from carol/truncate-refactor\n\nShort-circuit truncate",
    )
    history.repo.git.branch("-D", "truncate-refactor")

    history.branch("slug-punctuation")
    slug_v1 = (
        "def slugify(text):\n"
        '    kept = "".join(c for c in text if c.isalnum() or c == " ")\n'
        '    return kept.lower().replace(" ", "_")\n'
    )
    core_slug = core.replace(
        'def slugify(text):\n    return text.lower().replace(" ", "-")\n', slug_v1
    )
    tests_slug = tests + (
        "\n\ndef test_slugify_drops_punctuation():\n"
        '    assert core.slugify("Hi, there!") == "hi_there"\n'
    )
    history.commit(
        "Drop punctuation from slugs",
        {"tinytext/core.py": core_slug, "tests/test_core.py": tests_slug},
    )
    history.checkout("main")
    history.commit(
        "Drop punctuation from slugs (#6)\n\nSlugs keep letters and digits only.",
        {"tinytext/core.py": core_slug, "tests/test_core.py": tests_slug},
    )
    history.pull_ref(6, "slug-punctuation")


def _pulls_8_and_9(history: History) -> None:
    repo_root = Path(history.repo.working_dir)
    core = (repo_root / "tinytext/core.py").read_text()

    history.branch("truncate-ellipsis")
    plain = TEST_TRUNCATE.split("\n\ndef test_truncate_ellipsis")[0] + "\n"
    history.commit("Test plain truncation", {"tests/test_truncate.py": plain}, author="dave")
    core_ellipsis = core.replace(
        "def truncate(text, width):\n    if len(text) <= width:\n        return text\n"
        "    return text[:width]\n",
        "def truncate(text, width, ellipsis=False):\n    if len(text) <= width:\n"
        '        return text\n    if ellipsis:\n        return text[: width - 1] + "\\u2026"\n'
        "    return text[:width]\n",
    )
    history.commit(
        "Optional ellipsis in truncate",
        {"tinytext/core.py": core_ellipsis, "tests/test_truncate.py": TEST_TRUNCATE},
        author="dave",
    )
    history.checkout("main")

    # PR #7 lands while #8 is open, then #8 is rebased onto the branch.
    history.branch("truncate-zero")
    tests = (repo_root / "tests/test_core.py").read_text()
    history.commit(
        "Test truncation to zero",
        {
            "tests/test_core.py": tests
            + ('\n\ndef test_truncate_zero():\n    assert core.truncate("abc", 0) == ""\n')
        },
    )
    history.checkout("main")
    history.merge("truncate-zero", "Merge pull request #7 from erin/truncate-zero\n\nTest zero")
    history.repo.git.branch("-D", "truncate-zero")
    history.cherry_pick("main..truncate-ellipsis")
    history.pull_ref(8, "truncate-ellipsis")

    history.branch("strip-slug")
    core = (repo_root / "tinytext/core.py").read_text()
    history.commit(
        "Strip surrounding whitespace in slugify",
        {
            "tinytext/core.py": core.replace(
                '    kept = "".join(c for c in text ', '    kept = "".join(c for c in text.strip() '
            ),
            "tests/test_slug.py": TEST_SLUG,
        },
        author="frank",
    )
    history.checkout("main")
    history.merge("strip-slug", "Merge branch 'strip-slug'")
    history.pull_ref(9, "strip-slug")
