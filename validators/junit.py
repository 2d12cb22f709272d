"""Read pytest's JUnit XML report (``junit_family=xunit1``) into a status map keyed by node id.

Test ids are exactly pytest's node ids (``tests/test_x.py::TestC::test_y[param]``), as
SWE-bench records them. JUnit's dotted ``classname`` alone cannot rebuild them (folders may
contain dots), so the ``file`` attribute that xunit1 writes is used to find the module part:
pytest writes ``classname`` as the node id's path with ``/`` turned into ``.`` and ``.py``
dropped, followed by the classes. Where ``file`` points elsewhere (a test inherited from a
base class in another module), the test files that were run are tried instead.

A collection error is reported by pytest as a test case with an empty ``classname``, the
module path as ``name`` and an ``error`` with the message ``collection failure``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from junitparser import Attr, Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from pipeline.core.records import TestStatus


class PytestCase(TestCase):  # type: ignore[misc,unused-ignore]
    """A JUnit test case with the attributes pytest's xunit1 family adds."""

    file = Attr()
    line = Attr()


SEVERITY = [TestStatus.PASSED, TestStatus.SKIPPED, TestStatus.FAILED, TestStatus.ERROR]


@dataclass
class Report:
    """The parsed outcome of one test run, whatever the runner.

    A test id starts with its *unit*, the part a runner loads or builds as a whole: pytest's
    test file, a Go package, a Java class, a JavaScript test file, a Rust test binary. The
    unit ends where one of ``unit_ends`` first occurs (``::`` for pytest's node ids). A
    collection error names a unit that could not be loaded or built; its tests count as
    errors (``validators.grading.status_in``).
    """

    statuses: dict[str, TestStatus] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)  # units: pytest's test files
    # units loaded and found to hold no test, which some runners count as a failure (vitest)
    empty_units: list[str] = field(default_factory=list)
    unit_ends: tuple[str, ...] = ("::",)

    @property
    def empty(self) -> bool:
        """Whether the report holds no test and no collection error."""
        return not self.statuses and not self.collection_errors

    def record(self, test: str, status: TestStatus) -> None:
        """Record ``status`` for ``test`` unless it already has a worse one (a test reported
        twice: in two suites, files or report lines)."""
        known = self.statuses.get(test)
        if known is None or SEVERITY.index(status) > SEVERITY.index(known):
            self.statuses[test] = status

    def unit_of(self, test: str) -> str:
        """The unit of the test id ``test``: up to the first of ``unit_ends``."""
        cut = min((i for end in self.unit_ends if (i := test.find(end)) >= 0), default=-1)
        return test if cut < 0 else test[:cut]


def parse_report(xml: bytes, test_files: Iterable[str] = ()) -> Report:
    """The status of every test in a pytest JUnit report; ``ValueError`` if it is not one."""
    try:
        document = JUnitXml.fromstring(xml)
    except Exception as error:  # lxml and ElementTree raise different types
        raise ValueError(f"not a JUnit XML report: {error}") from error
    suites = [document] if isinstance(document, TestSuite) else list(document)
    report = Report()
    known_files = list(test_files)
    for suite in suites:
        for element in suite:
            case = PytestCase.fromelem(element)  # type: ignore[no-untyped-call]
            if _is_collection_error(case):
                report.collection_errors.append(_module_to_path(case.name, known_files))
                continue
            report.statuses[node_id(case, known_files)] = case_status(case)
    return report


def node_id(case: PytestCase, test_files: list[str]) -> str:
    """Rebuild pytest's node id from a test case."""
    classname = case.classname or ""
    candidates = ([case.file] if case.file else []) + test_files
    for path in candidates:
        module = path.removesuffix(".py").replace("/", ".")
        if classname == module:
            return f"{path}::{case.name}"
        if classname.startswith(module + "."):
            classes = classname[len(module) + 1 :].replace(".", "::")
            return f"{path}::{classes}::{case.name}"
    # Not matched: trust the dotted name; right whenever folder names have no dots.
    parts = classname.split(".")
    return "/".join(parts) + f".py::{case.name}" if classname else str(case.name)


def case_status(case: TestCase) -> TestStatus:
    """A JUnit test case's status from its result elements, the worst first."""
    results = case.result
    if any(isinstance(r, Error) for r in results):
        return TestStatus.ERROR
    if any(isinstance(r, Failure) for r in results):
        return TestStatus.FAILED
    if any(isinstance(r, Skipped) for r in results):
        return TestStatus.SKIPPED
    return TestStatus.PASSED


def _is_collection_error(case: PytestCase) -> bool:
    if case.classname:
        return False
    return any(isinstance(r, Error) and r.message == "collection failure" for r in case.result)


def _module_to_path(module: str, test_files: list[str]) -> str:
    for path in test_files:
        if path.removesuffix(".py").replace("/", ".") == module:
            return path
    return module.replace(".", "/") + ".py"
