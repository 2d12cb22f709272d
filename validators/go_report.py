"""Read ``go test -json`` (test2json's event stream) into the status map the grading core takes.

Every line is one JSON event: ``Action`` (``start``, ``run``, ``pause``, ``cont``, ``pass``,
``fail``, ``skip``, ``output``, ``bench``; since Go 1.24 also ``build-output`` and
``build-fail``, which carry ``ImportPath`` instead of ``Package``), ``Package``, ``Test`` (absent
for package events), ``Elapsed``, ``Output``, and since Go 1.24 ``FailedBuild`` on a package's
``fail``. A test's status is its last ``pass``, ``fail`` or ``skip``. A package that fails with
no test event of its own did not build or did not start (a build failure; a failed
``TestMain`` or ``init``): a collection error of that package. Before Go 1.24 a package whose
test files do not compile gets no event at all: ``go test`` prints its summary line ``FAIL
pkg [build failed]`` (a tab after ``FAIL``; or ``[setup failed]``) as plain text among the
events, and that line is read as the package's collection error (Go 1.24's
``GODEBUG=gotestjsonbuildtext=1`` wraps the same line in an ``output`` event instead). A
package ``skip`` ("no test files") says nothing. Other lines that are not JSON events (a
stray line on stdout) are skipped.

Test ids: ``IMPORT/PATH::TestName/subtest``, the package as ``go test`` names it (the
*unit*), then the test and subtest names exactly as in ``Test`` (``t.Run`` names with spaces
already rewritten to ``_`` by the testing package).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.core.records import TestStatus
from validators.junit import Report

NOT_BUILT = re.compile(rb"^FAIL\t(\S+) \[(?:build|setup) failed\]$")  # go test's own line
TERMINAL = {"pass": TestStatus.PASSED, "fail": TestStatus.FAILED, "skip": TestStatus.SKIPPED}


def read_go_test_json(data: bytes) -> Report:
    """The statuses of a ``go test -json`` stream; ``ValueError`` if it holds no event."""
    report = Report()
    tested: set[str] = set()
    package_end: dict[str, str] = {}
    events = 0
    for line in data.splitlines():
        if failed := NOT_BUILT.match(line.strip()):
            events += 1
            package_end[failed.group(1).decode(errors="replace")] = "fail"
            continue
        event = _event(line)
        if event is None:
            continue
        events += 1
        action, package, test = event.get("Action"), event.get("Package"), event.get("Test")
        if not isinstance(package, str) or action not in {*TERMINAL, "run", "output"}:
            continue
        if isinstance(test, str) and test:
            tested.add(package)
            if action in TERMINAL:
                report.statuses[f"{package}::{test}"] = TERMINAL[action]
        elif action in TERMINAL:
            package_end[package] = action
    if not events:
        raise ValueError("not a go test -json stream: no event")
    report.collection_errors = sorted(
        p for p, end in package_end.items() if end == "fail" and p not in tested
    )
    return report


def _event(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith(b"{"):
        return None
    try:
        event = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return event if isinstance(event, dict) and "Action" in event else None
