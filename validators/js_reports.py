"""Read JavaScript test runners' JSON reports into the status map the grading core takes.

- **jest** ``--json --outputFile=FILE`` and **vitest** ``--reporter=json --outputFile=FILE``
  write the same shape (vitest's is jest-compatible): ``testResults``, one per test file, each
  with ``name`` (the file's absolute path), ``status``, ``message`` and ``assertionResults``,
  one per test with ``ancestorTitles``, ``title`` and ``status`` (``passed``, ``failed``,
  ``pending``, ``skipped``, ``todo``, ``disabled``). A file that cannot be loaded (a syntax
  error, a missing module: "Test suite failed to run") is ``failed`` with no failed test, and is
  a collection error of that file; so is a file whose hooks failed with every test passed. A
  file with no test in it ("No test suite found in file", jest's "must contain at least one
  test") is neither: it is a helper the runner's globs match (a ``cases.spec.ts`` of data).
- **mocha** ``--reporter json --reporter-option output=FILE``: ``tests``, ``passes``,
  ``failures`` and ``pending``, each entry with ``title``, ``fullTitle`` and ``file``. A failed
  hook (``"before each" hook for "..."``) is a collection error of its file. A file that does
  not load stops mocha before any report is written (``validators.runners`` says so). Mocha
  before 9.1 writes the report only on its standard output, after whatever the tests print
  there, and before 7.2 without ``file``: the report is the last ``{`` line that opens
  ``"stats"`` to the end, and a test without a file is named by its ``fullTitle`` alone.

Test ids, exactly as each runner names a test, after the file's path from the repository
root (the file is the *unit*):

- jest: ``path/to/sum.test.ts::describe X nested X title``, X being U+203A (the single
  right-pointing angle quotation mark jest prints between titles) with a space on each side,
- vitest: ``path/to/sum.test.ts::describe > nested > title`` (vitest's ``>``),
- mocha: ``test/sum.spec.js::describe nested title`` (mocha's ``fullTitle()``), or
  ``describe nested title`` from a mocha before 7.2.

Two tests of the same name in the same block are one id, failed if either fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from pipeline.core.records import TestStatus
from validators.junit import Report

REPO_ROOT = "/repo"
JEST_SEPARATOR = " \u203a "  # as jest prints "describe \u203a title"
VITEST_SEPARATOR = " > "
STATUSES = {
    "passed": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "pending": TestStatus.SKIPPED,
    "skipped": TestStatus.SKIPPED,
    "todo": TestStatus.SKIPPED,
    "disabled": TestStatus.SKIPPED,
}
# a file the runner took for a test file and found no test in: a support file, not an error
NO_TESTS = ("No test suite found in file", "Your test suite must contain at least one test")
HOOKS = ('"before all" hook', '"before each" hook', '"after all" hook', '"after each" hook')


def read_jest_json(data: bytes, separator: str = JEST_SEPARATOR, root: str = REPO_ROOT) -> Report:
    """The statuses of a jest (or, with ``VITEST_SEPARATOR``, vitest) JSON report."""
    document = _json_object(data, "jest")
    report = Report()
    for result in _list(document, "testResults"):
        path = relative(str(result.get("name", "")), root)
        assertions = _list(result, "assertionResults")
        statuses = [STATUSES.get(str(a.get("status")), TestStatus.ERROR) for a in assertions]
        empty = not assertions and any(m in str(result.get("message", "")) for m in NO_TESTS)
        if empty:
            report.empty_units.append(path)
        elif result.get("status") == "failed" and TestStatus.FAILED not in statuses:
            report.collection_errors.append(path)
        for assertion, status in zip(assertions, statuses, strict=True):
            titles = [*map(str, assertion.get("ancestorTitles") or []), str(assertion["title"])]
            report.record(f"{path}::{separator.join(titles)}", status)
    return report


MOCHA_STDOUT_REPORT = b'\n{\n  "stats": {'  # JSON.stringify(report, null, 2) on stdout


def read_mocha_json(data: bytes, root: str = REPO_ROOT) -> Report:
    """The statuses of a mocha JSON report (alone, or at the end of mocha's standard output)."""
    start = data.rfind(MOCHA_STDOUT_REPORT)
    document = _json_object(data[start:] if start > 0 else data, "mocha")
    report = Report()
    lists = (
        ("passes", TestStatus.PASSED),
        ("pending", TestStatus.SKIPPED),
        ("failures", TestStatus.FAILED),
    )
    for key, status in lists:
        for test in _list(document, key):
            path = relative(str(test["file"]), root) if test.get("file") else ""
            if status is TestStatus.FAILED and str(test.get("title", "")).startswith(HOOKS):
                unit = path or str(test["fullTitle"])
                if unit not in report.collection_errors:
                    report.collection_errors.append(unit)
                continue
            report.record(f"{path}::{test['fullTitle']}" if path else test["fullTitle"], status)
    return report


def read_node_test(data: bytes, root: str = REPO_ROOT) -> Report:
    """The statuses of a ``node --test`` run, from taskforge's reporter (a JSON line per test
    as it starts and as it ends: ``validators/node_test_reporter.cjs``). A test's id is its
    file and its titles from the outermost ``describe``, as jest's; a ``describe`` is no test
    (a hook of it that failed is an error of its file). Node reports a file it could not load,
    or whose process failed, as a test named by the file's path; one that passed held none."""
    report = Report()
    titles: dict[str, list[str]] = {}
    for line in data.splitlines():
        if not line.strip():
            continue
        event = _json_object(line, "node --test")
        file = str(event.get("file") or "")
        path = relative(file, root) if file else ""
        name, nesting = str(event.get("name", "")), int(event.get("nesting") or 0)
        stack = titles.setdefault(path, [])
        if event.get("type") == "test:start":
            del stack[nesting:]
            stack.append(name)
            continue
        failed = event.get("type") == "test:fail"
        if nesting == 0 and file and name in {file, path}:  # Node 20 the one, 22 the other
            errors = report.collection_errors if failed else report.empty_units
            if path not in errors:
                errors.append(path)
            continue
        if event.get("kind") == "suite":
            hook = failed and event.get("failure") == "hookFailed"
            if hook and path not in report.collection_errors:
                report.collection_errors.append(path)
            continue
        if event.get("skip") or event.get("todo"):
            status = TestStatus.SKIPPED
        elif not failed:
            status = TestStatus.PASSED
        else:
            cancelled = event.get("failure") == "cancelledByParent"
            status = TestStatus.ERROR if cancelled else TestStatus.FAILED
        report.record(f"{path}::{JEST_SEPARATOR.join([*stack[:nesting], name])}", status)
    return report


def relative(path: str, root: str = REPO_ROOT) -> str:
    """A report's absolute file path as a path from the repository root."""
    pure = PurePosixPath(path)
    return str(pure.relative_to(root)) if pure.is_relative_to(root) else path.lstrip("./")


def _json_object(data: bytes, runner: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a {runner} JSON report: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"not a {runner} JSON report: a {type(document).__name__}")
    return document


def _list(document: Mapping[str, Any], key: str) -> Iterable[dict[str, Any]]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return [item for item in value if isinstance(item, dict)]
