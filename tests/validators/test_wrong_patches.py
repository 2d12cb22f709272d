"""Wrong patches of a fix, made on real git repositories: hunks left out in turn and mutated
lines, each applying at the base commit (``git apply --check``), chosen the same way every time."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import git
import pytest

from pipeline.core.records import WrongPatchKind
from pipeline.demo.sample_repo import History
from validators.wrong_patches import MAX_HUNKS, hunk_omissions, mutations, wrong_fixes

BEFORE = (
    "def area(radius):\n"
    "    return 3.14 * radius * radius\n"
    + "".join(f"\n\ndef helper_{n}():\n    return {n}\n" for n in range(4))
    + "\n\ndef perimeter(radius):\n    return 2 * 3.14 * radius\n"
)
AFTER = BEFORE.replace(
    "    return 3.14 * radius * radius\n",
    "    radius = float(radius)\n    if radius < 0:\n        raise ValueError(radius)\n"
    "    return 3.14 * radius * radius\n",
).replace(
    "    return 2 * 3.14 * radius\n",
    "    if radius == 0:\n        return 0\n    return 2 * 3.14 * radius\n",
)


Files = Mapping[str, str | bytes]


def diff_of(folder: Path, before: Files, after: Files) -> tuple[git.Repo, str]:
    """A repository at ``before`` and the diff (as the extractor reads it) that makes ``after``."""
    repo = git.Repo.init(folder, initial_branch="main")
    history = History(repo)

    def commit(message: str, files: Files) -> str:
        for path, data in files.items():
            if isinstance(data, bytes):
                (folder / path).write_bytes(data)
        return history.commit(message, {p: t for p, t in files.items() if isinstance(t, str)})

    base = commit("base", before)
    head = commit("fix", after)
    diff = repo.git.diff(
        "--binary", "--no-renames", "--full-index", base, head, strip_newline_in_stdout=False
    )
    repo.git.checkout(base)
    return repo, diff


def applies(repo: git.Repo, patch: str) -> bool:
    result = subprocess.run(
        ["git", "apply", "--check", "-"], cwd=repo.working_dir, input=patch.encode(), check=False
    )
    return result.returncode == 0


def applied(repo: git.Repo, patch: str, path: str) -> str:
    subprocess.run(["git", "apply", "-"], cwd=repo.working_dir, input=patch.encode(), check=True)
    text = (Path(str(repo.working_dir)) / path).read_text()
    repo.git.checkout("--", ".")
    return text


def test_each_hunk_left_out_in_turn_applies_and_keeps_the_other(tmp_path: Path) -> None:
    repo, diff = diff_of(tmp_path / "r", {"shapes.py": BEFORE}, {"shapes.py": AFTER})
    omissions = hunk_omissions(diff)
    assert [w.name for w in omissions] == [
        "shapes.py @@ -1,4 +1,7 @@",
        "shapes.py @@ -19,4 +22,6 @@",
    ]
    assert all(w.kind is WrongPatchKind.HUNK_LEFT_OUT for w in omissions)
    assert all(applies(repo, w.patch) for w in omissions)
    first, second = (applied(repo, w.patch, "shapes.py") for w in omissions)
    assert "radius < 0" not in first and "radius == 0" in first
    assert "radius < 0" in second and "radius == 0" not in second


def test_a_later_hunk_moves_up_by_what_the_left_out_one_added(tmp_path: Path) -> None:
    _, diff = diff_of(tmp_path / "r", {"shapes.py": BEFORE}, {"shapes.py": AFTER})
    without_first = hunk_omissions(diff)[0].patch
    assert "@@ -19,4 +19,6 @@" in without_first  # was +22: the first hunk added three lines


def test_files_of_one_hunk_each_are_left_out_file_by_file(tmp_path: Path) -> None:
    before: Files = {"a.py": "A = 1\n", "b.py": "B = 1\n", "logo.png": bytes(range(256))}
    after: Files = {"a.py": "A = 2\n", "b.py": "B = 2\n", "logo.png": bytes(range(255, -1, -1))}
    repo, diff = diff_of(tmp_path / "r", before, after)
    assert "GIT binary patch" in diff  # kept as it is, never left out
    omissions = hunk_omissions(diff)
    assert [w.name for w in omissions] == ["a.py @@ -1,1 +1,1 @@", "b.py @@ -1,1 +1,1 @@"]
    assert all("GIT binary patch" in w.patch for w in omissions)
    assert all(applies(repo, w.patch) for w in omissions)
    assert "diff --git a/a.py" not in omissions[0].patch
    assert "diff --git a/b.py" in omissions[0].patch


def test_a_fix_of_one_hunk_has_no_hunk_to_leave_out(tmp_path: Path) -> None:
    _, diff = diff_of(tmp_path / "r", {"a.py": "A = 1\n"}, {"a.py": "A = 2\n"})
    assert hunk_omissions(diff) == []


def test_hunks_are_capped_in_patch_order(tmp_path: Path) -> None:
    before = {f"m{n:02}.py": f"X = {n}\n" for n in range(MAX_HUNKS + 3)}
    after = {path: text.replace("X", "Y") for path, text in before.items()}
    _, diff = diff_of(tmp_path / "r", before, after)
    names = [w.name.split(" ")[0] for w in hunk_omissions(diff)]
    assert names == [f"m{n:02}.py" for n in range(MAX_HUNKS)]


def test_hunks_of_files_the_tests_name_come_first(tmp_path: Path) -> None:
    """body-parser #600: its tests require ../lib/utils, the last of its files in patch order;
    the files the test patch names are left out first, the others after them in patch order."""
    before = {f"lib/m{n:02}.js": f"X = {n}\n" for n in range(MAX_HUNKS + 2)}
    before["lib/utils.js"] = "Y = 0\n"
    before["lib/types/index.js"] = "Z = 0\n"
    after = {path: text.replace("= ", "= 1") for path, text in before.items()}
    _, diff = diff_of(tmp_path / "r", before, after)
    test_patch = "+var utils = require('../lib/utils')\n+const types = require('../lib/types')\n"
    names = [w.name.split(" ")[0] for w in hunk_omissions(diff, test_patch=test_patch)]
    assert names[:2] == ["lib/types/index.js", "lib/utils.js"]
    assert names[2:] == [f"lib/m{n:02}.js" for n in range(MAX_HUNKS - 2)]
    unnamed = [w.name.split(" ")[0] for w in hunk_omissions(diff)]
    assert unnamed == [f"lib/m{n:02}.js" for n in range(MAX_HUNKS)]


def test_mutations_are_chosen_the_same_way_every_time(tmp_path: Path) -> None:
    repo, diff = diff_of(tmp_path / "r", {"shapes.py": BEFORE}, {"shapes.py": AFTER})
    chosen = mutations(diff, "acme__shapes-7")
    assert [(w.kind.value, w.name) for w in chosen] == [
        ("flipped_comparison", "shapes.py:3: < to >="),
        ("constant_return", "shapes.py:26: return None"),
        ("deleted_line", "shapes.py:2: line deleted"),
        ("flipped_comparison", "shapes.py:25: == to !="),
    ]
    assert mutations(diff, "acme__shapes-7") == chosen
    assert all(applies(repo, w.patch) for w in chosen)
    assert "    if radius >= 0:\n" in applied(repo, chosen[0].patch, "shapes.py")
    deleted = applied(repo, chosen[2].patch, "shapes.py")
    assert "float(radius)" not in deleted and "def area(radius):\n    if radius < 0:" in deleted
    # the only statement under ``if radius < 0:`` is never deleted
    assert not any(w.name == "shapes.py:4: line deleted" for w in chosen)


def test_another_task_may_rank_them_otherwise_but_one_mutation_per_line(tmp_path: Path) -> None:
    _, diff = diff_of(tmp_path / "r", {"shapes.py": BEFORE}, {"shapes.py": AFTER})
    for instance_id in ("a__b-1", "c__d-2", "e__f-3"):
        lines = [w.name.split(":")[1] for w in mutations(diff, instance_id)]
        assert len(lines) == len(set(lines)) == 4  # lines 2, 3, 25, 26: 4 is never deleted


def test_the_only_statement_of_a_python_block_is_never_deleted(tmp_path: Path) -> None:
    before = {"a.py": "def f(x):\n    return x\n"}
    after = {"a.py": "def f(x):\n    if x:\n        print(x)\n    return x\n"}
    _, diff = diff_of(tmp_path / "r", before, after)
    kinds = {w.name: w.kind for w in mutations(diff, "o__n-1")}
    assert "a.py:3: line deleted" not in kinds  # print(x), alone under ``if x:``


def test_comments_docstrings_and_files_of_no_language_are_not_mutated(tmp_path: Path) -> None:
    before = {"a.py": "X = 1\n", "conf.yml": "on: false\n"}
    after = {
        "a.py": 'X = 1\n# if x == 1: True\n"""\nreturn x == 1\n"""\n',
        "conf.yml": "on: true\n",
    }
    _, diff = diff_of(tmp_path / "r", before, after)
    assert mutations(diff, "o__n-1") == []


@pytest.mark.parametrize(
    ("path", "before", "after", "expected"),
    [
        (
            "src/app.js",
            "function ok(a) {\n  return a;\n}\n",
            "function ok(a) {\n  if (a === null) return false;\n  return a.trim();\n}\n",
            [  # one mutation per line: the comparison takes line 2 before its boolean
                ("flipped_comparison", "src/app.js:2: === to !=="),
                ("constant_return", "src/app.js:3: return undefined"),
            ],
        ),
        (
            "calc.go",
            "package calc\n\nfunc Ok(n int) bool {\n\treturn true\n}\n",
            "package calc\n\nfunc Ok(n int) bool {\n\tif n >= 10 {\n\t\treturn false\n\t}\n"
            "\treturn true\n}\n",
            [
                ("flipped_comparison", "calc.go:4: >= to <"),
                ("flipped_boolean", "calc.go:5: false to true"),
            ],
        ),
        (
            "src/lib.rs",
            "pub fn ok(n: u32) -> bool {\n    true\n}\n",
            "pub fn ok(n: u32) -> bool {\n    let limit: Vec<u32> = vec![10];\n"
            "    n < limit[0]\n}\n",
            [  # Vec<u32> is no comparison; the tail expression (no ;) is never deleted
                ("flipped_comparison", "src/lib.rs:3: < to >="),
                ("deleted_line", "src/lib.rs:2: line deleted"),
            ],
        ),
        (
            "src/main/java/Calc.java",
            "class Calc {\n  boolean ok(int n) {\n    return true;\n  }\n}\n",
            "class Calc {\n  boolean ok(int n) {\n    if (n > 10) {\n      return false;\n"
            "    }\n    return true;\n  }\n}\n",
            [
                ("flipped_comparison", "src/main/java/Calc.java:3: > to <="),
                ("flipped_boolean", "src/main/java/Calc.java:4: false to true"),
            ],
        ),
    ],
)
def test_mutations_per_language(
    tmp_path: Path, path: str, before: str, after: str, expected: list[tuple[str, str]]
) -> None:
    repo, diff = diff_of(tmp_path / "r", {path: before}, {path: after})
    chosen = mutations(diff, "o__n-1")
    assert [(w.kind.value, w.name) for w in chosen] == expected
    assert all(applies(repo, w.patch) for w in chosen)


def test_wrong_fixes_are_hunks_then_mutations_none_the_fix_itself(tmp_path: Path) -> None:
    _, diff = diff_of(tmp_path / "r", {"shapes.py": BEFORE}, {"shapes.py": AFTER})
    found = wrong_fixes(diff, "acme__shapes-7")
    assert [w.kind for w in found][:2] == [WrongPatchKind.HUNK_LEFT_OUT] * 2
    assert len(found) == 2 + 4 and len({w.patch for w in found}) == 6
    assert diff not in {w.patch for w in found}


def test_a_diff_unidiff_cannot_read_has_no_wrong_patch() -> None:
    broken = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n"  # one line short
    assert wrong_fixes(broken, "o__n-1") == []
