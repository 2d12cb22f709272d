"""The eval script SWE-bench's harness runs in a task's instance image, and its log parser.

SWE-bench's harness (``swebench.harness.run_evaluation``, 5.x) starts the instance image as
root, applies the model's patch in ``/testbed`` with ``git apply``, runs the instance's
``eval_script`` and reads the test statuses between ``>>>>> Start Test Output`` and
``>>>>> End Test Output`` with the parser ``log_parser`` names in its registry. The script
written here runs exactly the test command of validation (``validators.runner``: the project
reinstalled offline from the tree, pytest on the files FAIL_TO_PASS and PASS_TO_PASS live in,
coverage off, as the sandbox user) after resetting the test patch's files and applying it, as
``taskforge evaluate`` does.

The statuses come from pytest itself: a small plugin (``REPORT_PLUGIN``, written by the
script) records each test's node id as pytest names it and prints one line per test after
pytest ends, in the format of the chosen parser:

- ``parse_log_pytest`` (``PASSED tests/test_x.py::test_y``), SWE-bench's own for pytest
  suites, which splits lines on whitespace: usable when no graded id holds whitespace;
- ``parse_log_django`` (``tests/test_x.py::test_y[a  b] ... ok``), whose lines keep the id
  whole: used for ids with whitespace (``test_counts[a  b-2]``), unless an id starts
  with whitespace or ``ok``, ``FAIL:`` or ``ERROR:``, or holds a line break, which that
  parser reads differently (``tests/validators/test_eval_script.py`` checks each rule against
  SWE-bench's own parsers);
- neither: the task is left out of the export, with the reason (``log_parser_for``).

pytest's own output comes before the start marker, so nothing a test prints can be read as a
status; the line before the end marker exits with pytest's status, which the harness records
and checks against the statuses.
"""

from __future__ import annotations

import enum
import hashlib
import shlex

from pipeline.core.records import Task
from validators.regrade import graded_files, paths_touched
from validators.runner import pytest_command

START = ">>>>> Start Test Output"
END = ">>>>> End Test Output"
TESTBED = "/testbed"
REPORT_DIR = "/tmp/taskforge-report"
REPORT_LINES = f"{REPORT_DIR}/lines.txt"

# Python 3.6 and pytest 3 compatible: it runs with the environment's own interpreter.
REPORT_PLUGIN = """\
import os

_RANK = {"PASSED": 0, "SKIPPED": 1, "FAILED": 2, "ERROR": 3}
_WORDS = {"PASSED": "ok", "SKIPPED": "skipped", "FAILED": "FAIL", "ERROR": "ERROR"}
_STATUS = {}


def pytest_runtest_logreport(report):
    if report.failed:
        status = "FAILED" if report.when == "call" else "ERROR"
    elif report.skipped:
        status = "SKIPPED"
    else:
        status = "PASSED"
    if _RANK[status] >= _RANK[_STATUS.get(report.nodeid, "PASSED")]:
        _STATUS[report.nodeid] = status


def pytest_sessionfinish(session, exitstatus):
    django = os.environ.get("TASKFORGE_REPORT_FORMAT") == "django"
    with open(os.environ["TASKFORGE_REPORT_LINES"], "w") as out:
        for nodeid, status in _STATUS.items():
            if django:
                out.write(nodeid + " ... " + _WORDS[status] + "\\n")
            else:
                out.write(status + " " + nodeid + "\\n")
"""


class LogParser(enum.StrEnum):
    """The SWE-bench log parsers an export names (keys of its ``PARSER_REGISTRY``)."""

    PYTEST = "parse_log_pytest"
    DJANGO = "parse_log_django"


def log_parser_for(task: Task) -> tuple[LogParser | None, str]:
    """The parser that reads every graded id of ``task`` whole, or None and why none does."""
    graded = [*task.FAIL_TO_PASS, *task.PASS_TO_PASS]
    if not any(_has_space(test) for test in graded):
        return LogParser.PYTEST, ""
    unreadable = [test for test in graded if not _django_reads(test)]
    if not unreadable:
        return LogParser.DJANGO, ""
    return None, f"test id {unreadable[0]!r} is read differently by every SWE-bench log parser"


def _has_space(test: str) -> bool:
    return any(character.isspace() for character in test)


def _django_reads(test: str) -> bool:
    return (
        test == test.lstrip()
        and "\n" not in test
        and "\r" not in test
        and not test.startswith(("ok", "FAIL:", "ERROR:"))
    )


def eval_script(task: Task, parser: LogParser) -> str:
    """The whole eval script of ``task`` for the harness, reading its output with ``parser``."""
    touched = " ".join(shlex.quote(path) for path in paths_touched(task.test_patch))
    reset = (
        f'for path in {touched}; do git checkout -q HEAD -- "$path" 2>/dev/null '
        '|| rm -rf -- "$path"; done'
        if touched
        else ": no test files to reset"
    )
    command = pytest_command(graded_files(task), extra_args=("-p", "taskforge_report"))
    run = (
        'runuser -u taskforge -- env "PATH=$PATH" HOME=/home/taskforge '
        f'"PYTHONPATH=$tf_path:{REPORT_DIR}" PYTHONHASHSEED=0 '
        f"TASKFORGE_REPORT_FORMAT={'django' if parser is LogParser.DJANGO else 'pytest'} "
        f"TASKFORGE_REPORT_LINES={REPORT_LINES} {shlex.join(command)}"
    )
    lines = [
        "#!/bin/bash",
        "set -uxo pipefail",
        f"cd {TESTBED}",
        reset,
        *_heredoc("git apply --verbose -", task.test_patch),
        f"mkdir -p {REPORT_DIR}",
        *_heredoc(f"cat > {REPORT_DIR}/taskforge_report.py", REPORT_PLUGIN),
        f"chown -R taskforge:taskforge {TESTBED} {REPORT_DIR}",
        f"if [ -d {TESTBED}/src ]; then tf_path={TESTBED}/src:{TESTBED}; "
        f"else tf_path={TESTBED}; fi",
        run,
        "tf_status=$?",
        f"echo '{START}'",
        f"cat {REPORT_LINES}",
        "(exit $tf_status)",
        f"echo '{END}'",
        reset,
    ]
    return "\n".join(lines) + "\n"


def _heredoc(command: str, text: str) -> list[str]:
    """``command`` fed ``text`` through a quoted here-document whose end word ``text`` lacks."""
    word = "EOF_TASKFORGE_" + hashlib.sha256(text.encode()).hexdigest()[:12]
    body = text if text.endswith("\n") else text + "\n"
    return [f"{command} <<'{word}'", body + word]
