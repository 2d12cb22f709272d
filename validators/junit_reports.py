"""Read the JUnit XML of Maven Surefire (and Gradle) and of cargo nextest into status maps.

Both are Ant's JUnit shape (``testsuite`` > ``testcase`` with ``failure``, ``error`` or
``skipped`` children), read with junitparser as pytest's report is (``validators.junit``);
what differs is how a test is named.

- **Surefire** writes one ``target/surefire-reports/TEST-<class>.xml`` per test class (per
  module); Gradle writes ``build/test-results/test/TEST-<class>.xml`` of the same shape. Each
  ``testcase`` has ``classname`` (the class, ``Outer$Nested`` for a nested class) and ``name``
  (the method; JUnit 5's parameterized ``positive(int)[1]``; Gradle adds ``()``). With nested
  classes, Surefire 3 may write a class's test cases into the file of its nested class and leave
  the outer file empty, so every file is read and test cases are keyed by their own
  ``classname``. JUnit 4's ``initializationError`` (a class that cannot be instantiated, a
  failed ``@BeforeClass``) and a test case without a name are collection errors of the class.
  Test id: ``com.example.CalcTest::adds``, ``com.example.CalcTest$Negatives::addsNegatives``;
  the unit is the top-level class (up to ``::`` or ``$``), which is what one test file holds.
- **nextest** writes one ``testsuite`` per test binary (its *binary id*: ``crate`` for the
  library's unit tests, ``crate::name`` for ``tests/name.rs``, ``crate::bin/name`` for a
  binary) and a ``testcase`` per test, ``classname`` the binary id and ``name`` the test's path
  (``tests::adds``). Ignored tests are not in the report. Setup scripts' suites
  (``@setup-script:...``) are not tests. Test id: ``binary-id test-name``, as nextest prints
  it (``crate::integration it_works``); the unit is the binary id, up to the space (neither a
  binary id nor a Rust path holds one). ``crate::a b`` and ``crate a::b`` are two tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from pipeline.core.records import TestStatus
from validators.junit import Report

JAVA_UNIT_ENDS = ("::", "$")
NEXTEST_UNIT_ENDS = (" ",)
CLASS_ERRORS = frozenset({"initializationError", ""})
SEVERITY = [TestStatus.PASSED, TestStatus.SKIPPED, TestStatus.FAILED, TestStatus.ERROR]


def read_surefire(files: Mapping[str, bytes]) -> Report:
    """The statuses of a run's Surefire (or Gradle) reports, ``TEST-*.xml`` by name."""
    report = Report(unit_ends=JAVA_UNIT_ENDS)
    for name in sorted(files):
        for case in _cases(files[name], name):
            classname = str(case.classname or "")
            if str(case.name or "") in CLASS_ERRORS and _status(case) is not TestStatus.PASSED:
                unit = classname.split("$", 1)[0]
                if unit not in report.collection_errors:
                    report.collection_errors.append(unit)
                continue
            _record(report, f"{classname}::{case.name}", _status(case))
    return report


def read_nextest(xml: bytes) -> Report:
    """The statuses of a nextest JUnit report."""
    report = Report(unit_ends=NEXTEST_UNIT_ENDS)
    for suite in _suites(xml, "nextest"):
        if str(suite.name or "").startswith("@setup-script:"):
            continue
        for element in suite:
            case = TestCase.fromelem(element)  # type: ignore[no-untyped-call]
            binary = str(case.classname or suite.name)
            _record(report, f"{binary} {case.name}", _status(case))
    return report


def _cases(xml: bytes, name: str) -> list[TestCase]:
    return [
        TestCase.fromelem(element)  # type: ignore[no-untyped-call]
        for suite in _suites(xml, name)
        for element in suite
    ]


def _suites(xml: bytes, name: str) -> list[TestSuite]:
    try:
        document = JUnitXml.fromstring(xml)
    except Exception as error:  # lxml and ElementTree raise different types
        raise ValueError(f"{name}: not a JUnit XML report: {error}") from error
    return [document] if isinstance(document, TestSuite) else list(document)


def _status(case: TestCase) -> TestStatus:
    results = case.result
    if any(isinstance(r, Error) for r in results):
        return TestStatus.ERROR
    if any(isinstance(r, Failure) for r in results):
        return TestStatus.FAILED
    if any(isinstance(r, Skipped) for r in results):
        return TestStatus.SKIPPED
    return TestStatus.PASSED


def _record(report: Report, test: str, status: TestStatus) -> None:
    known = report.statuses.get(test)
    if known is None or SEVERITY.index(status) > SEVERITY.index(known):
        report.statuses[test] = status
