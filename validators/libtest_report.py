r"""Read libtest's own JSON (``cargo test -- --format json``) into the status map grading takes.

The command, one run per test target (``--lib``, ``--test NAME``, ``--bin NAME``), its
standard output being the stream::

    RUSTC_BOOTSTRAP=1 cargo test --no-fail-fast <target args> \
        -- -Z unstable-options --format json --report-time

libtest prints one JSON event a line, on stdout: ``{"type": "suite", "event": "started",
"test_count": N}`` then, for every test, ``{"type": "test", "event": "started", "name": ...}``
and one result, ``ok``, ``failed`` (a panic or a failed assertion, the captured output in
``stdout``) or ``ignored`` (``#[ignore]``, with its reason in ``message``), then the suite's
``ok`` or ``failed``. Each binary of the run is one suite; the stream names no binary, so the
caller names the *unit* (``lib``, ``test:it``: anything without ``::``) and every test id is
``UNIT::path::to::test``, the unit up to the first ``::`` (``Report.unit_ends``). Tests of
several suites that share a path under one unit keep the worst status.

- A test that started and has no result is FAILED: the binary was killed while it ran (a hang
  past the sandbox's limit) or died (an abort, a stack overflow). libtest's ``timeout`` event
  is its 60-second warning, not a result. Tests running beside it on other threads at that
  moment are FAILED too; tests that never started are not in the report.
- Doc tests (rustdoc's ``src/lib.rs - item (line 5)``) are left out: they live in the doc
  comments of source files, whose changes are the fix patch's, and their names hold no path.
- Lines that are not events are skipped: a test's own output when it is not captured
  (``--nocapture``, or a child process writing to the inherited stdout). A ``print!`` without
  a newline puts its text in front of the next event on the same line, so an event is looked
  for wherever ``{ "type":`` occurs on a line.
- A stream without a libtest event (empty: cargo prints build errors on stderr and runs no
  binary; or the harness refused its arguments) is an empty ``Report``, this reader's None:
  the caller marks the unit a collection error (a build failure). A suite that ran no test
  reads the same.

Verified here on 2026-12-01 with cargo and rustc 1.95.0, the only Rust on the host, on a sample
crate (unit tests in ``#[cfg(test)] mod tests``, ``tests/it.rs``, a hanging test; the fixtures
in ``tests/validators/golden/reports``): without ``RUSTC_BOOTSTRAP`` each test binary refuses
``-Z`` ("the option `Z` is only accepted on the nightly compiler", exit code 101, nothing on
stdout); with it, the stream above, for rustdoc's doc tests too. libtest decides in the test
binary, at run time: ``is_nightly()`` holds when the variable is set to any value
(``env::var("RUSTC_BOOTSTRAP").is_ok()``, in its sources of 2018 and of today). Rust 1.63 (the
bookworm compiler) was **not** run: by rust-lang/rust#75526 and #109044, a stable libtest
accepted ``-Z unstable-options`` without the variable until 1.70, so the command serves it
too; ``exec_time``, not read, was a string (``"0.001s"``) before 1.50.

Seen here as well: cargo passes the variable to rustc and build scripts too, and crates that
probe for nightly features then turn them on and rebuild (anyhow 1.0.105's
``error_generic_member_access``, proc-macro2 1.0.107's ``proc_macro_span``): the build is not a
plain ``cargo test``'s. ``CARGO_TARGET_<TRIPLE>_RUNNER="env RUSTC_BOOTSTRAP=1"`` sets it for the
test binaries alone: the same stream, the build scripts' output unchanged, no rebuild; doc
tests do not go through the runner, and refuse ``-Z`` then.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.core.records import TestStatus
from validators.junit import Report

UNIT_END = "::"
RESULTS = {"ok": TestStatus.PASSED, "failed": TestStatus.FAILED, "ignored": TestStatus.SKIPPED}
# rustdoc names a doc test "FILE - ITEM (line N)"; a Rust path holds no space
DOCTEST_NAME = re.compile(r" - .*\(line \d+\)")
# every libtest event starts so (``{ "type": "test", ...``), text written before it or not
EVENT_START = re.compile(r'\{\s*"type"\s*:')
DECODER = json.JSONDecoder()


def read_libtest_json(data: bytes, unit: str) -> Report:
    """The statuses of a libtest JSON stream, ids ``UNIT::test``; an empty ``Report`` when the
    stream holds no libtest event (see the module). ``ValueError`` for a unit holding ``::``."""
    if not unit or UNIT_END in unit:
        raise ValueError(f"a test unit must be non-empty and without {UNIT_END!r}: {unit!r}")
    report = Report(unit_ends=(UNIT_END,))
    unfinished: set[str] = set()
    for line in data.splitlines():
        event = _event(line)
        if event is None or event.get("type") != "test":
            continue
        name = event.get("name")
        if not isinstance(name, str) or not name or DOCTEST_NAME.search(name):
            continue
        test = f"{unit}{UNIT_END}{name}"
        if event["event"] == "started":
            unfinished.add(test)
        elif event["event"] in RESULTS:
            unfinished.discard(test)
            report.record(test, RESULTS[event["event"]])
    for test in sorted(unfinished):
        report.record(test, TestStatus.FAILED)
    return report


def _event(line: bytes) -> dict[str, Any] | None:
    """The libtest event on ``line``, wherever on it it starts, or None."""
    text = line.decode("utf-8", errors="replace")
    for start in EVENT_START.finditer(text):
        try:
            event, _ = DECODER.raw_decode(text, start.start())
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            return event
    return None
