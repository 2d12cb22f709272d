"""Rust tests inside source files: the lines of ``#[cfg(test)]`` items go to the test patch."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from extractors.rust_tests import blob_ids, cfg_test_lines, split_section

BASE = """\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn label() -> &'static str {
    "}{ not a brace"
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

HEAD = """\
pub fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

pub fn label() -> &'static str {
    "}{ not a brace"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(1, 2), 3);
    }

    #[test]
    fn wraps() {
        assert_eq!(add(i32::MAX, 1), i32::MIN);
    }
}
"""


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def diff_of(tmp_path: Path, base: str | None, head: str | None, name: str = "src/lib.rs") -> str:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if base is not None:
        path.write_text(base)
        git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    if head is None:
        path.unlink()
    else:
        path.write_text(head)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "head")
    return git(repo, "diff", "--full-index", "--no-renames", "HEAD~1", "HEAD")


def applied(tmp_path: Path, base: str | None, *patches: str, name: str = "src/lib.rs") -> str:
    tree = tmp_path / "tree"
    (tree / name).parent.mkdir(parents=True)
    if base is not None:
        (tree / name).write_text(base)
    for patch in patches:
        if patch:
            git(tree, "apply", "--whitespace=nowarn", "-", stdin=patch)  # as validators.states
    return (tree / name).read_text()


def test_lines_of_gated_items_skip_braces_in_strings_and_comments() -> None:
    text = (
        'fn f() { let s = "{"; } // }\n#[cfg(test)]\nmod t {\n'
        "    /* } */ const C: char = '}';\n}\nfn g() {}\n"
    )
    assert cfg_test_lines(text) == {2, 3, 4, 5}
    assert cfg_test_lines('#[cfg(all(test, feature = "x"))]\nfn helper() {}\n') == {1, 2}
    gated = "#[cfg(any(test, unix))]\nfn f() {}\n#[cfg(test)]\nmod tests;\n"
    assert cfg_test_lines(gated) == {3, 4}
    assert cfg_test_lines("#[cfg(test)]\nmod tests {\n") is None  # cannot be delimited
    assert cfg_test_lines('fn r() -> &\'static str { r#"}"# }\n#[cfg(test)]\nfn h() {}') == {2, 3}


def test_a_change_to_code_and_its_test_module_is_split(tmp_path: Path) -> None:
    section = diff_of(tmp_path, BASE, HEAD)
    old_tests, new_tests = cfg_test_lines(BASE), cfg_test_lines(HEAD)
    assert old_tests is not None and new_tests is not None
    test_part, fix_part = split_section(section, old_tests, new_tests)
    assert "fn wraps" in test_part and "wrapping_add" not in test_part
    assert "wrapping_add" in fix_part and "+    fn wraps" not in fix_part
    before = applied(tmp_path, BASE, test_part)
    assert "fn wraps" in before and "a + b" in before  # the tests, not the fix
    assert applied(tmp_path / "b", BASE, test_part, fix_part) == HEAD


def test_one_hunk_touching_both_sides_is_split_line_by_line(tmp_path: Path) -> None:
    base = "pub fn one() -> i32 { 1 }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn a() {}\n}\n"
    head = "pub fn one() -> i32 { 2 }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn b() {}\n}\n"
    section = diff_of(tmp_path, base, head)
    old_tests, new_tests = cfg_test_lines(base), cfg_test_lines(head)
    assert old_tests is not None and new_tests is not None
    test_part, fix_part = split_section(section, old_tests, new_tests)
    assert applied(tmp_path, base, test_part) == base.replace("fn a()", "fn b()")
    assert applied(tmp_path / "b", base, test_part, fix_part) == head


def test_a_new_file_is_created_with_its_tests_then_filled_in(tmp_path: Path) -> None:
    section = diff_of(tmp_path, None, HEAD, name="src/wrap.rs")
    new_tests = cfg_test_lines(HEAD)
    assert new_tests is not None
    test_part, fix_part = split_section(section, set(), new_tests)
    assert "new file mode" in test_part and "--- /dev/null" in test_part
    assert "new file mode" not in fix_part and "--- a/src/wrap.rs" in fix_part
    assert applied(tmp_path, None, test_part, fix_part, name="src/wrap.rs") == HEAD


@pytest.mark.parametrize(
    ("base", "head", "side"),
    [
        (BASE, BASE.replace("a + b", "b + a"), "fix"),  # code only
        (BASE, BASE.replace("(1, 2), 3", "(2, 1), 3"), "test"),  # tests only
        (BASE, None, "fix"),  # a deleted file goes whole to the fix
    ],
)
def test_a_change_on_one_side_stays_whole(
    tmp_path: Path, base: str, head: str | None, side: str
) -> None:
    section = diff_of(tmp_path, base, head)
    old_tests, new_tests = cfg_test_lines(base), cfg_test_lines(head or "")
    assert old_tests is not None and new_tests is not None
    test_part, fix_part = split_section(section, old_tests, new_tests)
    assert (test_part, fix_part) == ((section, "") if side == "test" else ("", section))


def test_blob_ids_come_from_the_full_index_line(tmp_path: Path) -> None:
    ids = blob_ids(diff_of(tmp_path, BASE, HEAD))
    assert ids is not None and all(len(i) == 40 for i in ids)
