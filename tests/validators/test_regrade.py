"""The pure and host-side parts of regrading: touched paths, reset to base, and the judge."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from pipeline.core.records import TestStatus
from tests.pipeline.factories import make_task
from validators.grading import RunResult
from validators.junit import parse_report
from validators.regrade import (
    BaseCommit,
    Resolution,
    graded_files,
    judge,
    paths_touched,
    reset_to_base,
)
from validators.sandbox import SandboxLimits, SandboxRun
from validators.states import PatchDoesNotApply, export_tree

RENAME_ADD_DELETE = """\
diff --git a/tests/old_name.py b/tests/new_name.py
similarity index 90%
rename from tests/old_name.py
rename to tests/new_name.py
--- a/tests/old_name.py
+++ b/tests/new_name.py
@@ -1 +1 @@
-x = 1
+x = 2
diff --git a/tests/test_new.py b/tests/test_new.py
new file mode 100644
--- /dev/null
+++ b/tests/test_new.py
@@ -0,0 +1 @@
+def test_new(): pass
diff --git a/tests/test_gone.py b/tests/test_gone.py
deleted file mode 100644
--- a/tests/test_gone.py
+++ /dev/null
@@ -1 +0,0 @@
-def test_gone(): pass
"""


def test_paths_touched_cover_both_sides_of_renames_and_added_and_deleted_files() -> None:
    assert paths_touched(RENAME_ADD_DELETE) == [
        "tests/new_name.py",
        "tests/old_name.py",
        "tests/test_gone.py",
        "tests/test_new.py",
    ]
    assert paths_touched("") == []


def test_paths_touched_of_garbage_is_a_patch_that_does_not_apply() -> None:
    with pytest.raises(PatchDoesNotApply, match="test patch"):
        paths_touched("diff --git a/x b/x\n@@ -1,3 +1,3 @@\n-only one line\n")


@pytest.fixture
def base(tmp_path: Path) -> BaseCommit:
    repo = git.Repo.init(tmp_path / "origin")
    root = Path(repo.working_dir)
    (root / "tests").mkdir()
    (root / "tests" / "test_a.py").write_text("def test_a():\n    assert 1\n")
    (root / "tests" / "helper.sh").write_text("#!/bin/sh\n")
    (root / "tests" / "helper.sh").chmod(0o755)
    (root / "src.py").write_text("x = 1\n")
    repo.index.add(["tests/test_a.py", "tests/helper.sh", "src.py"])
    commit = repo.index.commit("base").hexsha
    repo.close()
    return BaseCommit(root, commit)


def _tree(base: BaseCommit, tmp_path: Path) -> Path:
    tree = tmp_path / "work" / "repo"
    tree.parent.mkdir()
    repo = git.Repo(base.repo_path)
    export_tree(repo, base.commit, tree)
    repo.close()
    return tree


def test_reset_restores_base_versions_and_removes_what_the_base_lacks(
    base: BaseCommit, tmp_path: Path
) -> None:
    tree = _tree(base, tmp_path)
    (tree / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")  # edited to pass
    (tree / "tests" / "helper.sh").unlink()  # deleted
    (tree / "tests" / "test_new.py").write_text("def test_new(): pass\n")  # added
    (tree / "src.py").write_text("x = 2\n")  # the fix: not the test patch's
    paths = ["tests/test_a.py", "tests/helper.sh", "tests/test_new.py"]
    reset_to_base(tree, base, paths)
    assert (tree / "tests" / "test_a.py").read_text() == "def test_a():\n    assert 1\n"
    assert (tree / "tests" / "helper.sh").stat().st_mode & 0o111
    assert not (tree / "tests" / "test_new.py").exists()
    assert (tree / "src.py").read_text() == "x = 2\n"


def test_reset_replaces_a_symlink_or_file_standing_where_a_folder_was(
    base: BaseCommit, tmp_path: Path
) -> None:
    tree = _tree(base, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tree / "tests" / "test_a.py").unlink()
    (tree / "tests" / "helper.sh").unlink()
    (tree / "tests").rmdir()
    (tree / "tests").symlink_to(elsewhere)
    reset_to_base(tree, base, ["tests/test_a.py", "../outside.py", "/etc/passwd"])
    assert not (tree / "tests").is_symlink()
    assert (tree / "tests" / "test_a.py").read_text().startswith("def test_a")
    assert list(elsewhere.iterdir()) == []


REPORT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_x" name="test_z" file="tests/test_x.py" time="0.1"/>
<testcase classname="tests.test_x" name="test_w[1-2]" file="tests/test_x.py" time="0.1"/>
<testcase classname="tests.test_x.TestX" name="test_y[a b]" file="tests/test_x.py" time="0.1"/>
<testcase classname="tests.test_x" name="test_\xc3\xa9" file="tests/test_x.py">%s</testcase>
</testsuite></testsuites>
"""
FAILURE = b'<failure message="assert 0">assert 0</failure>'
LIMITS = SandboxLimits(timeout_s=30, memory="1g")


def _run(exit_code: int, timed_out: bool = False, oom: bool = False) -> SandboxRun:
    return SandboxRun(exit_code, timed_out, 1.0, "", oom_killed=oom)


def _result(exit_code: int, xml: bytes | None) -> RunResult:
    report = None if xml is None else parse_report(xml, ["tests/test_x.py"])
    return RunResult(exit_code, report)


def test_every_graded_test_passing_resolves() -> None:
    task = make_task(1)
    grade = judge(task, _run(0), _result(0, REPORT % b""), LIMITS)
    assert grade.resolution is Resolution.RESOLVED and grade.reward == 1
    assert set(grade.fail_to_pass.values()) == {TestStatus.PASSED}
    assert grade.detail == "2 FAIL_TO_PASS and 2 PASS_TO_PASS pass"


def test_one_failing_fail_to_pass_test_is_tests_fail() -> None:
    grade = judge(make_task(1), _run(1), _result(1, REPORT % FAILURE), LIMITS)
    assert grade.resolution is Resolution.TESTS_FAIL and grade.reward == 0
    assert grade.fail_to_pass["tests/test_x.py::test_\u00e9"] is TestStatus.FAILED
    assert "1 of 4 tests fail: tests/test_x.py::test_\u00e9 (failed)" in grade.detail


def test_a_test_missing_from_the_report_is_not_passed() -> None:
    task = make_task(1, PASS_TO_PASS=["tests/test_x.py::test_z", "tests/test_x.py::test_gone"])
    grade = judge(task, _run(0), _result(0, REPORT % b""), LIMITS)
    assert grade.resolution is Resolution.TESTS_FAIL
    assert grade.pass_to_pass["tests/test_x.py::test_gone"] is None
    assert "tests/test_x.py::test_gone (missing)" in grade.detail


def test_tests_of_a_file_that_does_not_collect_are_errors() -> None:
    xml = b"""<testsuites><testsuite name="pytest"><testcase classname="" name="tests.test_x">
    <error message="collection failure">ImportError</error></testcase></testsuite></testsuites>"""
    grade = judge(make_task(1), _run(2), _result(2, xml), LIMITS)
    assert grade.resolution is Resolution.TESTS_FAIL
    assert set(grade.fail_to_pass.values()) == {TestStatus.ERROR}


def test_passing_tests_in_a_run_that_contradicts_its_report_do_not_resolve() -> None:
    grade = judge(make_task(1), _run(3), _result(3, REPORT % b""), LIMITS)
    assert grade.resolution is Resolution.TESTS_FAIL
    assert "cannot be trusted: the runner stopped with exit code 3" in grade.detail


def test_no_report_timeout_and_memory() -> None:
    task = make_task(1)
    no_report = judge(task, _run(4), _result(4, None), LIMITS)
    assert no_report.resolution is Resolution.TESTS_FAIL
    assert set(no_report.fail_to_pass.values()) == {None}
    timeout = judge(task, _run(-1, timed_out=True), _result(-1, None), LIMITS)
    assert (timeout.resolution, timeout.detail) == (
        Resolution.TIMEOUT,
        "the test run took over 30 s",
    )
    memory = judge(task, _run(137, oom=True), _result(137, REPORT % b""), LIMITS)
    assert memory.resolution is Resolution.TESTS_FAIL
    assert memory.detail == "the test run ran out of memory (limit 1g)"


def test_graded_files_are_the_files_of_both_lists() -> None:
    task = make_task(
        1,
        FAIL_TO_PASS=["tests/b.py::test_x[a::b]", "tests/a.py::C::test_y"],
        PASS_TO_PASS=["tests/a.py::test_z"],
    )
    assert graded_files(task) == ["tests/a.py", "tests/b.py"]
