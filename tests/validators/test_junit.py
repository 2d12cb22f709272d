"""Golden-file tests: a real pytest JUnit report (xunit1) back to pytest's node ids.

``golden/pytest_mixed.xml`` was written by pytest 9 over nested classes, parameters with
spaces, ``::`` and dots, a fixture error, a skip, a failure, a folder with a dot in its name
and a module that fails to import. The expected ids are those ``pytest -rA`` printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.records import TestStatus
from validators.junit import parse_report

GOLDEN = Path(__file__).parent / "golden"
RUN_FILES = ["tests/test_mix.py", "tests/sub.dir/test_dotted.py", "tests/test_broken_import.py"]


def test_node_ids_and_statuses_match_pytest() -> None:
    report = parse_report((GOLDEN / "pytest_mixed.xml").read_bytes(), RUN_FILES)
    assert report.statuses == {
        "tests/test_mix.py::TestOuter::TestInner::test_deep": TestStatus.PASSED,
        "tests/test_mix.py::TestOuter::test_param[a b]": TestStatus.PASSED,
        "tests/test_mix.py::TestOuter::test_param[x::y]": TestStatus.FAILED,
        "tests/test_mix.py::TestOuter::test_param[dots.in.id]": TestStatus.PASSED,
        "tests/test_mix.py::test_error": TestStatus.ERROR,
        "tests/test_mix.py::test_skipped": TestStatus.SKIPPED,
        "tests/test_mix.py::test_fails": TestStatus.FAILED,
        "tests/sub.dir/test_dotted.py::test_in_dotted_folder": TestStatus.PASSED,
    }
    assert report.collection_errors == ["tests/test_broken_import.py"]


def test_without_the_file_attribute_the_run_files_decide() -> None:
    xml = (
        (GOLDEN / "pytest_mixed.xml").read_text().replace('file="tests/sub.dir/test_dotted.py"', "")
    )
    report = parse_report(xml.encode(), RUN_FILES)
    assert "tests/sub.dir/test_dotted.py::test_in_dotted_folder" in report.statuses


@pytest.mark.parametrize("xml", [b"", b"not xml", b"<html></html>"])
def test_not_a_report(xml: bytes) -> None:
    with pytest.raises(ValueError, match="JUnit"):
        parse_report(xml)


def test_empty_report_is_empty() -> None:
    report = parse_report(b'<testsuites><testsuite name="pytest" tests="0"/></testsuites>')
    assert report.empty
