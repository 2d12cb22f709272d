"""The language of a pull request, and its change split by that language's rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from extractors.candidates import build_candidate, build_candidates
from extractors.git_history import find_merged_pulls
from pipeline.core.languages import (
    PROFILES,
    Language,
    choose_language,
    declared_languages,
    manifest_candidates,
    profile_of,
)
from pipeline.core.paths import FileKind, classify_path
from pipeline.core.records import Task

LIB_BASE = """\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(1, 2), 3);
    }
}
"""
LIB_HEAD = LIB_BASE.replace("a + b", "a.wrapping_add(b)").replace(
    "    }\n}\n",
    "    }\n\n    #[test]\n    fn wraps() {\n"
    "        assert_eq!(add(i32::MAX, 1), i32::MIN);\n    }\n}\n",
)


@pytest.mark.parametrize(
    ("language", "path", "kind"),
    [
        (Language.JAVASCRIPT, "web/src/__tests__/sum.ts", FileKind.TEST),
        (Language.JAVASCRIPT, "web/src/sum.test.ts", FileKind.TEST),
        (Language.JAVASCRIPT, "lib/widget.spec.jsx", FileKind.TEST),
        (Language.JAVASCRIPT, "test/parse.js", FileKind.TEST),
        (Language.JAVASCRIPT, "src/__snapshots__/sum.test.ts.snap", FileKind.TEST),
        (Language.JAVASCRIPT, "src/attest.ts", FileKind.SOURCE),
        (Language.JAVASCRIPT, "src/testing.ts", FileKind.SOURCE),
        (Language.GO, "pkg/calc/calc_test.go", FileKind.TEST),
        (Language.GO, "pkg/calc/testdata/golden.txt", FileKind.TEST),
        (Language.GO, "pkg/calc/testing.go", FileKind.SOURCE),
        (Language.GO, "tests/e2e.go", FileKind.SOURCE),  # Go knows no tests/ folder
        (Language.RUST, "tests/integration.rs", FileKind.TEST),
        (Language.RUST, "crates/core/benches/speed.rs", FileKind.TEST),
        (Language.RUST, "src/parser/tests.rs", FileKind.TEST),
        (Language.RUST, "src/lib.rs", FileKind.SOURCE),  # its #[cfg(test)] items: split
        (Language.JAVA, "core/src/test/java/com/x/Helper.java", FileKind.TEST),
        (Language.JAVA, "core/src/test/resources/in.json", FileKind.TEST),
        (Language.JAVA, "it/FooIT.java", FileKind.TEST),
        (Language.JAVA, "core/src/main/java/com/x/Testable.java", FileKind.SOURCE),
        (Language.JAVA, "core/src/main/java/com/x/Contest.java", FileKind.SOURCE),
        (Language.GO, "docs/guide.md", FileKind.DOCS),  # docs and CI: the same everywhere
        (Language.RUST, ".github/workflows/ci.yml", FileKind.CI),
    ],
)
def test_each_profile_knows_its_test_paths(language: Language, path: str, kind: FileKind) -> None:
    assert classify_path(path, language) is kind


def test_test_files_are_what_a_runner_runs() -> None:
    js, java, go = (profile_of(lang) for lang in (Language.JAVASCRIPT, Language.JAVA, Language.GO))
    assert js.is_test_file("src/sum.test.ts") and js.is_test_file("test/parse.js")
    assert not js.is_test_file("test/helpers.js") and not js.is_test_file("src/__mocks__/fs.js")
    assert java.is_test_file("src/test/java/com/x/CalcTest.java")
    assert not java.is_test_file("src/test/java/com/x/Helper.java")
    assert go.is_test_file("calc_test.go") and not go.is_test_file("testdata/x_test.txt")


def test_the_registry_has_one_profile_per_language() -> None:
    assert list(PROFILES) == list(Language)
    assert all(PROFILES[lang].language is lang for lang in Language)


@pytest.mark.parametrize(
    ("changed", "manifests", "language"),
    [
        (["pkg/a.py", "tests/test_a.py"], ["pyproject.toml"], Language.PYTHON),
        (["web/a.ts", "web/a.test.ts"], ["setup.py", "web/package.json"], Language.JAVASCRIPT),
        # JavaScript needs a package.json: without one the Python file decides
        (["pkg/static/a.js", "pkg/static/b.js", "tests/test_a.py"], [], Language.PYTHON),
        # a tie goes to the earlier profile (Python first)
        (["pkg/a.py", "web/a.js"], ["package.json", "setup.py"], Language.PYTHON),
        (["main.go", "main_test.go"], [], Language.GO),  # GOPATH era: no go.mod
        (["src/lib.rs"], ["Cargo.toml"], Language.RUST),
        (["README.md"], ["package.json"], Language.JAVASCRIPT),  # no code: the repository's
        (["data.json"], [], Language.PYTHON),
    ],
)
def test_choose_language(changed: list[str], manifests: list[str], language: Language) -> None:
    assert choose_language(changed, manifests) is language


def test_manifests_are_looked_up_on_the_paths_of_the_changed_files() -> None:
    candidates = manifest_candidates(["svc/calc/calc.go"])
    assert {"go.mod", "svc/go.mod", "svc/calc/go.mod", "svc/package.json"} <= set(candidates)
    assert declared_languages(["svc/go.mod", "pom.xml"]) == [Language.GO, Language.JAVA]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _squash(repo: Path, number: int, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"Change {number} (#{number})")


@pytest.fixture(scope="module")
def polyglot(tmp_path_factory: pytest.TempPathFactory) -> git.Repo:
    """A repository in five languages, one squash-merged PR of each kind."""
    root = tmp_path_factory.mktemp("polyglot") / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _squash(
        root,
        0,
        {
            "pyproject.toml": "[project]\nname = 'poly'\n",
            "pkg/core.py": "def f():\n    return 1\n",
            "web/package.json": '{"name": "web"}\n',
            "svc/go.mod": "module example.com/svc\n\ngo 1.21\n",
            "crates/Cargo.toml": "[package]\nname = 'poly'\nversion = '0.1.0'\n",
            "crates/src/lib.rs": LIB_BASE,
            "java/pom.xml": "<project/>\n",
        },
    )
    changes: dict[int, dict[str, str | None]] = {
        1: {"pkg/core.py": "def f():\n    return 2\n", "tests/test_core.py": "def test(): pass\n"},
        2: {
            "web/src/sum.ts": "export const s = 1;\n",
            "web/src/sum.test.ts": "test('s', () => {});\n",
        },
        3: {
            "svc/calc/calc.go": "package calc\n",
            "svc/calc/calc_test.go": "package calc\n",
            "svc/calc/testdata/in.txt": "1 2\n",
        },
        4: {"crates/src/lib.rs": LIB_HEAD},
        5: {
            "java/src/main/java/com/x/Calc.java": "class Calc {}\n",
            "java/src/test/java/com/x/CalcTest.java": "class CalcTest {}\n",
        },
        6: {
            "pkg/static/app.js": "let a = 1;\n",
            "pkg/core.py": "def f():\n    return 3\n",
            "tests/test_core.py": "def test(): assert True\n",
        },
        7: {"legacy/main.go": "package main\n", "legacy/main_test.go": "package main\n"},
    }
    for number, files in changes.items():
        _squash(root, number, files)
    return git.Repo(root)


@pytest.fixture(scope="module")
def mined(polyglot: git.Repo) -> dict[int, Task]:
    pulls = find_merged_pulls(polyglot, "main")
    return {t.pull_number: t for t in build_candidates(polyglot, "o/poly", pulls)}


def test_each_pull_request_gets_the_language_of_its_files(mined: dict[int, Task]) -> None:
    languages = {number: task.language for number, task in mined.items()}
    assert languages == {
        1: Language.PYTHON,
        2: Language.JAVASCRIPT,
        3: Language.GO,
        4: Language.RUST,
        5: Language.JAVA,
        6: Language.PYTHON,  # a JS file with no package.json on its path: a Python PR
        7: Language.GO,
    }
    assert all(task.outcome is None for task in mined.values())


def test_the_change_is_split_by_the_rules_of_that_language(mined: dict[int, Task]) -> None:
    assert mined[2].test_files == ["web/src/sum.test.ts"]
    assert mined[3].test_files == ["svc/calc/calc_test.go", "svc/calc/testdata/in.txt"]
    assert mined[5].test_files == ["java/src/test/java/com/x/CalcTest.java"]
    assert mined[6].source_files == ["pkg/core.py", "pkg/static/app.js"]


def test_rust_tests_inside_a_source_file_go_to_the_test_patch(
    mined: dict[int, Task], polyglot: git.Repo, tmp_path: Path
) -> None:
    task = mined[4]
    assert task.test_files == task.source_files == ["crates/src/lib.rs"]
    assert "fn wraps" in task.test_patch and "wrapping_add" not in task.test_patch
    assert "wrapping_add" in task.patch and "+    fn wraps" not in task.patch
    tree = tmp_path / "tree"
    _git(
        Path(polyglot.working_dir), "worktree", "add", "-q", "--detach", str(tree), task.base_commit
    )
    for patch in (task.test_patch, task.patch):
        subprocess.run(["git", "apply", "-"], cwd=tree, input=patch.encode(), check=True)
    assert (tree / "crates/src/lib.rs").read_text() == LIB_HEAD


def test_one_pull_request_alone_gets_the_same_language(polyglot: git.Repo) -> None:
    pulls = {p.number: p for p in find_merged_pulls(polyglot, "main")}
    assert build_candidate(polyglot, "o/poly", pulls[3]).language is Language.GO
