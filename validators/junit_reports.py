"""Read the JUnit XML of Maven Surefire (and Gradle) into a status map.

It is Ant's JUnit shape (``testsuite`` > ``testcase`` with ``failure``, ``error`` or
``skipped`` children), read with junitparser as pytest's report is (``validators.junit``);
what differs is how a test is named.

Surefire writes one ``target/surefire-reports/TEST-<class>.xml`` per test class (per module);
Gradle writes ``build/test-results/test/TEST-<class>.xml`` of the same shape. Each
``testcase`` has ``classname`` (the class, ``Outer$Nested`` for a nested class) and ``name``
(the method; JUnit 5's parameterized ``positive(int)[1]``; Gradle adds ``()``). With nested
classes, Surefire 3 may write a class's test cases into the file of its nested class and leave
the outer file empty, so every file is read and test cases are keyed by their own
``classname``. JUnit 4's ``initializationError`` (a class that cannot be instantiated, a failed
``@BeforeClass``) and a test case without a name are collection errors of the class. Test id:
``com.example.CalcTest::adds``, ``com.example.CalcTest$Negatives::addsNegatives``; the unit is
the top-level class (up to ``::`` or ``$``), which is what one test file holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from junitparser import JUnitXml, TestCase, TestSuite

from pipeline.core.records import TestStatus
from validators.junit import Report, case_status

JAVA_UNIT_ENDS = ("::", "$")
CLASS_ERRORS = frozenset({"initializationError", ""})


def read_surefire(files: Mapping[str, bytes]) -> Report:
    """The statuses of a run's Surefire (or Gradle) reports, ``TEST-*.xml`` by name."""
    report = Report(unit_ends=JAVA_UNIT_ENDS)
    for name in sorted(files):
        for case in _cases(files[name], name):
            classname = str(case.classname or "")
            if str(case.name or "") in CLASS_ERRORS and case_status(case) is not TestStatus.PASSED:
                unit = classname.split("$", 1)[0]
                if unit not in report.collection_errors:
                    report.collection_errors.append(unit)
                continue
            report.record(f"{classname}::{case.name}", case_status(case))
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
