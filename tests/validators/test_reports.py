"""Each runner's structured report, read into the status map the grading core takes.

The fixtures (``golden/reports``, see its README) are reports the real tools wrote, shortened,
or hand-written in the shape the tools' sources emit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.records import TestStatus
from validators.go_report import read_go_test_json
from validators.grading import RunResult, grade, run_problem, status_in
from validators.js_reports import (
    JEST_SEPARATOR,
    VITEST_SEPARATOR,
    read_jest_json,
    read_mocha_json,
    read_node_test,
)
from validators.junit import Report
from validators.junit_reports import read_surefire
from validators.libtest_report import read_libtest_json

GOLDEN = Path(__file__).parent / "golden" / "reports"
P, F, E, S = TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED
ARROW = "\u203a"  # jest's separator between describe blocks and the test's title


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def test_jest_json() -> None:
    report = read_jest_json(golden("jest-29.7.json"))
    file = "__tests__/sum.test.js"
    assert report.statuses == {
        f"{file}::sum {ARROW} adds 1 + 2": P,
        f"{file}::sum {ARROW} with negatives {ARROW} adds -1 + -2": F,
        f"{file}::sum {ARROW} skipped one": S,
        f"{file}::sum {ARROW} write this": S,  # test.todo
        f"{file}::sum {ARROW} add(1, 1)": P,  # test.each, named as jest names each case
        f"{file}::sum {ARROW} add(2, 2)": P,
        f"{file}::top level": P,
    }
    # "Test suite failed to run": the file is a collection error, its tests count as errors
    assert report.collection_errors == ["__tests__/broken.test.js"]
    assert status_in(report, "__tests__/broken.test.js::never runs") is E


def test_vitest_json_has_jest_s_shape_and_vitest_s_names() -> None:
    report = read_jest_json(golden("vitest-3.2.json"), VITEST_SEPARATOR)
    file = "test/sum.test.ts"
    assert report.statuses == {
        f"{file}::sum > adds 1 + 2": P,
        f"{file}::sum > with negatives > adds -1 + -2": F,
        f"{file}::sum > skipped one": S,
        f"{file}::sum > write this": S,
        f"{file}::top level": P,
    }
    assert report.collection_errors == ["test/broken.test.ts"]


@pytest.mark.parametrize(
    ("name", "separator", "passing", "empty"),
    [
        (
            "vitest-3.2-no-test.json",
            VITEST_SEPARATOR,
            "src/index.spec.ts::adds",
            "src/cases.spec.ts",
        ),
        ("jest-29.7-no-test.json", JEST_SEPARATOR, "index.test.js::adds", "cases.test.js"),
    ],
)
def test_a_file_without_tests_is_an_empty_unit_and_explains_exit_code_1(
    name: str, separator: str, passing: str, empty: str
) -> None:
    report = read_jest_json(golden(name), separator)
    assert report.statuses == {passing: P}
    assert report.empty_units == [empty] and not report.collection_errors
    assert run_problem(RunResult(1, report)) is None  # both runners exit 1 for it
    assert run_problem(RunResult(0, report)) is None


def test_mocha_json() -> None:
    report = read_mocha_json(golden("mocha-10.8.json"))
    file = "test/sum.spec.js"
    assert report.statuses == {
        f"{file}::top level": P,
        f"{file}::sum adds 1 + 2": P,
        f"{file}::sum skipped one": S,
        f"{file}::sum pending without body": S,
        f"{file}::sum with negatives adds -1 + -2": F,
    }
    assert report.collection_errors == []


@pytest.mark.parametrize("name", ["mocha-1.21-stdout.txt", "mocha-5.2-stdout.txt"])
def test_mocha_before_9_1_report_is_read_from_its_standard_output(name: str) -> None:
    """What a test prints comes first (here a line with '{"stats": 1}' in it); before 7.2 a
    test has no file, so its id is its full title."""
    report = read_mocha_json(golden(name))
    assert report.statuses == {
        "calc adds": P,
        "calc fails": F,
        "calc later": S,
        "calc nested works": P,
    }


def test_mocha_hook_failure_is_a_collection_error_of_its_file() -> None:
    failed_hook = {
        "title": '"before each" hook for "adds"',
        "fullTitle": 'sum "before each" hook for "adds"',
        "file": "/repo/test/sum.spec.js",
        "err": {"message": "boom"},
    }
    document = {"stats": {}, "tests": [], "passes": [], "pending": [], "failures": [failed_hook]}
    data = json.dumps(document).encode()
    report = read_mocha_json(data)
    assert report.statuses == {} and report.collection_errors == ["test/sum.spec.js"]


@pytest.mark.parametrize("name", ["node-test-22.23.jsonl", "node-test-20.20.jsonl"])
def test_node_test_report(name: str) -> None:
    """Titles from the outermost describe, as jest's; a describe is no test; a file that does
    not load, and one whose before hook throws, are errors of their file (its cancelled tests
    errors); a skipped test is skipped."""
    report = read_node_test(golden(name))
    assert report.statuses == {
        "test/a.test.js::top one": P,
        f"test/a.test.js::group {ARROW} inner ok": P,
        f"test/a.test.js::group {ARROW} inner bad": F,
        f"test/a.test.js::group {ARROW} deeper {ARROW} leaf": P,
        f"test/hook.test.js::hooked {ARROW} never": E,
        "test/sub/b.js::b top": P,
        "test/sub/b.js::b skip": S,
    }
    assert report.collection_errors == ["test/bad.test.js", "test/hook.test.js"]
    assert report.empty_units == []


def test_a_node_test_file_that_passed_as_a_whole_held_no_test() -> None:
    line = {"type": "test:pass", "name": "/repo/test/none.js", "nesting": 0}
    data = json.dumps({**line, "file": "/repo/test/none.js"}).encode()
    assert read_node_test(data).empty_units == ["test/none.js"]


def test_go_before_1_24_names_a_package_that_does_not_build_only_in_its_summary_line() -> None:
    """Go 1.21's real output: no event for the package, a plain ``FAIL pkg [build failed]``
    line among the others' events (google/uuid's PRs before Go 1.24 wrote 'no test report')."""
    both = read_go_test_json(golden("go-test-1.21-build-failed.jsonl"))
    assert both.statuses == {"example.com/sample/calc::TestAdd": P}
    assert both.collection_errors == ["example.com/sample/broken"]
    alone = read_go_test_json(golden("go-test-1.21-build-failed-only.jsonl"))
    assert alone.statuses == {} and alone.collection_errors == ["example.com/sample/broken"]


@pytest.mark.parametrize("name", ["go-test-1.26.jsonl", "go-test-1.26-buildtext.jsonl"])
def test_go_test_json(name: str) -> None:
    report = read_go_test_json(golden(name))
    package = "example.com/sample/calc"
    assert report.statuses == {
        f"{package}::TestAdd": P,
        f"{package}::TestAddFails": F,
        f"{package}::TestSkipped": S,
        f"{package}::TestTable": F,
        f"{package}::TestTable/one_plus_two": P,  # t.Run's spaces, as go test renames them
        f"{package}::TestTable/wrong/sum": F,
    }
    # the package that does not build, in Go 1.24's shape and in the older one alike; the
    # package without test files ("skip") is not an error
    assert report.collection_errors == ["example.com/sample/broken"]
    assert status_in(report, "example.com/sample/broken::TestNew") is E


def test_go_stream_with_stray_lines_and_one_without_events() -> None:
    stream = b'warming up\n{"Action":"pass","Package":"p","Test":"TestA"}\n\n'
    assert read_go_test_json(stream).statuses == {"p::TestA": P}
    with pytest.raises(ValueError, match="no event"):
        read_go_test_json(b"go: cannot find main module\n")
    assert read_go_test_json(b"FAIL\tp [setup failed]\n").collection_errors == ["p"]


def test_surefire_3_with_junit_5_reads_every_file() -> None:
    files = {p.name: p.read_bytes() for p in (GOLDEN / "surefire-3.2").glob("TEST-*.xml")}
    report = read_surefire(files)
    assert report.statuses == {
        "com.example.CalcTest::adds": P,
        "com.example.CalcTest::addsWrong": F,
        "com.example.CalcTest::throwsError": E,
        "com.example.CalcTest::disabled": S,
        "com.example.CalcTest::positive(int)[1]": F,
        "com.example.CalcTest::positive(int)[2]": P,
        "com.example.CalcTest$Negatives::addsNegatives": P,
    }
    assert report.unit_of("com.example.CalcTest$Negatives::addsNegatives") == "com.example.CalcTest"


def test_surefire_2_with_junit_4() -> None:
    report = read_surefire(
        {
            "TEST-com.example.ParserTest.xml": golden("surefire-2.22-junit4.xml"),
            "TEST-com.example.LexerTest.xml": golden("surefire-2.22-initialization-error.xml"),
        }
    )
    assert report.statuses == {
        "com.example.ParserTest::parsesEmpty": P,
        "com.example.ParserTest::parsesNumber[0]": F,
        "com.example.ParserTest::ignored": S,
        "com.example.ParserTest::throwsOnNull": E,
    }
    assert report.collection_errors == ["com.example.LexerTest"]


LIB_TESTS = {
    "tests::adds": P,
    "tests::adds_wrong": F,  # assert_eq! with a message
    "tests::ignored": S,  # #[ignore = "not ready"]
    "tests::nested::deep": P,
    "tests::panics": F,  # an unexpected panic
    "tests::panics_as_expected": P,  # #[should_panic(expected = ...)]
    "tests::prints_and_fails": F,  # println! before failing: in the event's "stdout"
    "tests::prints_and_passes": P,
}
IT_TESTS = {
    "it_works": P,
    "it_fails": F,
    "it_is_ignored": S,
    "it_panics": F,
    "it_prints": P,
    "it_prints_without_newline": P,
    "it_runs_a_child": P,
}


def test_libtest_json_of_a_library_s_unit_tests() -> None:
    report = read_libtest_json(golden("libtest-1.95-lib.jsonl"), "lib")
    assert report.statuses == {f"lib::{name}": status for name, status in LIB_TESTS.items()}
    assert report.collection_errors == []
    assert report.unit_of("lib::tests::nested::deep") == "lib"


def test_libtest_json_between_uncaptured_output() -> None:
    """--nocapture: printed lines between the events, and a print! without a newline in front
    of the next event on its line."""
    data = golden("libtest-1.95-it-nocapture.jsonl")
    assert b'no newline after this{ "type": "test", "name": "it_prints_without_newline"' in data
    report = read_libtest_json(data, "test:it")
    assert report.statuses == {f"test:it::{name}": status for name, status in IT_TESTS.items()}
    assert report.unit_of("test:it::it_works") == "test:it"


def test_libtest_json_of_several_suites_without_doc_tests() -> None:
    """cargo test without target arguments: the library's, tests/hang.rs's and tests/it.rs's
    binaries (a child process's line among the events), then the doc tests, left out."""
    data = golden("libtest-1.95-all.jsonl")
    assert data.count(b'"type": "suite", "event": "started"') == 4
    assert b"src/lib.rs - add (line 5)" in data
    report = read_libtest_json(data, "all")
    assert report.statuses == {
        **{f"all::{name}": status for name, status in LIB_TESTS.items()},
        "all::finishes": S,
        "all::hangs": S,
        **{f"all::{name}": status for name, status in IT_TESTS.items()},
    }


def test_libtest_json_of_a_run_killed_while_a_test_hangs() -> None:
    """Killed after 75 s: libtest's 60-second "timeout" warning, then no result."""
    data = golden("libtest-1.95-timeout.jsonl")
    assert b'"event": "timeout", "name": "hangs"' in data
    report = read_libtest_json(data, "test:hang")
    assert report.statuses == {"test:hang::finishes": P, "test:hang::hangs": F}


def test_libtest_json_keeps_a_test_s_worst_status_over_suites() -> None:
    stream = (
        b'{ "type": "suite", "event": "started", "test_count": 1 }\n'
        b'{ "type": "test", "name": "t::a", "event": "failed" }\n'
        b'{ "type": "suite", "event": "started", "test_count": 1 }\n'
        b'{ "type": "test", "name": "t::a", "event": "ok" }\n'
    )
    assert read_libtest_json(stream, "bins").statuses == {"bins::t::a": F}


@pytest.mark.parametrize(
    "stream",
    [b"", b"\n", b"error: the option `Z` is only accepted on the nightly compiler\n", b"<html>"],
)
def test_a_stream_without_libtest_events_is_an_empty_report(stream: bytes) -> None:
    """cargo wrote nothing on stdout (a build failure) or the harness refused its arguments."""
    assert read_libtest_json(stream, "lib").empty


@pytest.mark.parametrize("unit", ["", "crate::integration"])
def test_a_libtest_unit_cannot_hold_the_separator(unit: str) -> None:
    with pytest.raises(ValueError, match="a test unit must be non-empty"):
        read_libtest_json(b"", unit)


def test_the_grading_core_grades_a_libtest_build_failure() -> None:
    """Before the fix tests/it.rs does not build: cargo prints nothing on stdout, the empty
    report makes the caller mark the unit a collection error, so its tests fail before."""
    read = read_libtest_json(b"", "test:it")
    assert read.empty
    before = Report(collection_errors=["test:it"], unit_ends=read.unit_ends)
    after = read_libtest_json(golden("libtest-1.95-it-nocapture.jsonl"), "test:it")
    verdict = grade([RunResult(1, before)], [RunResult(1, after)])
    assert "test:it::it_works" in verdict.fail_to_pass
    assert "test:it::it_fails" not in verdict.fail_to_pass


@pytest.mark.parametrize("reader", [read_jest_json, read_mocha_json, read_go_test_json])
def test_what_is_not_a_report_is_refused(reader: object) -> None:
    with pytest.raises(ValueError):
        reader(b"<html>not json</html>")  # type: ignore[operator]
