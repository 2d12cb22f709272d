"""The eval script's statuses are read back exactly by SWE-bench's own log parsers.

The report plugin the script writes is run here on pytest-like reports for awkward node ids;
its lines are then parsed by SWE-bench's ``parse_log_pytest`` and ``parse_log_django`` (the
PyPI release, in its own virtualenv) and compared with what ``log_parser_for`` promises: every
id it assigns to a parser comes back whole with its status, and an id it refuses does not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.pipeline.factories import make_task
from validators.eval_script import (
    END,
    REPORT_PLUGIN,
    START,
    LogParser,
    eval_script,
    log_parser_for,
)

IDS = [
    "tests/test_a.py::test_plain",
    "tests/test_a.py::TestK::test_m[1-2]",
    "tests/test_a.py::test_counts[a  b-2]",
    "tests/test_a.py::test_counts[ lead-1]",
    "tests/test_a.py::test_tab[a\tb]",
    "tests/test_a.py::test_dots[x ... y]",
    "ok_tests/test_a.py::test_x[a b]",
    "tests/test_a.py::test_end[a b] ",
    " tests/test_a.py::test_lead[a b]",
    "tests/test_a.py::test_\u00e9[caf\u00e9 au lait]",
]
PARSE = """
import json, sys
from swebench.harness.log_parsers import PARSER_REGISTRY
lines, parser = json.load(sys.stdin)
print(json.dumps(PARSER_REGISTRY[parser](lines, None)))
"""


def plugin_lines(statuses: dict[str, str], parser: LogParser, tmp_path: Path) -> str:
    """What the plugin prints for tests that ended with ``statuses``."""
    namespace: dict[str, object] = {}
    exec(REPORT_PLUGIN, namespace)
    for nodeid, status in statuses.items():
        report = SimpleNamespace(
            nodeid=nodeid,
            when="call",
            failed=status == "FAILED",
            skipped=status == "SKIPPED",
        )
        namespace["pytest_runtest_logreport"](report)  # type: ignore[operator]
    lines = tmp_path / "lines.txt"
    os.environ["TASKFORGE_REPORT_LINES"] = str(lines)
    os.environ["TASKFORGE_REPORT_FORMAT"] = "django" if parser is LogParser.DJANGO else "pytest"
    try:
        namespace["pytest_sessionfinish"](None, 0)  # type: ignore[operator]
    finally:
        del os.environ["TASKFORGE_REPORT_LINES"], os.environ["TASKFORGE_REPORT_FORMAT"]
    return lines.read_text()


@pytest.mark.parametrize("test_id", IDS)
def test_each_id_is_read_whole_by_the_parser_it_is_given(
    test_id: str, swebench_python: Path, tmp_path: Path
) -> None:
    other = "tests/test_a.py::test_other"
    task = make_task(1, FAIL_TO_PASS=[test_id], PASS_TO_PASS=[other])
    parser, reason = log_parser_for(task)
    chosen = parser or LogParser.DJANGO  # a refused id: django's parser, to show it misreads
    read_back = []
    for status in ("PASSED", "FAILED"):
        lines = plugin_lines({test_id: status, other: "SKIPPED"}, chosen, tmp_path)
        done = subprocess.run(
            [str(swebench_python), "-c", PARSE],
            input=json.dumps([lines, chosen.value]),
            capture_output=True,
            text=True,
            check=True,
        )
        parsed = json.loads(done.stdout)
        read_back.append(parsed.get(test_id) == status and parsed.get(other) == "SKIPPED")
    if parser is None:
        assert reason and not all(read_back)
    else:
        assert all(read_back)


def test_whitespace_free_ids_keep_swebench_pytest_parser() -> None:
    task = make_task(1, FAIL_TO_PASS=[IDS[0], IDS[1]], PASS_TO_PASS=[])
    assert log_parser_for(task) == (LogParser.PYTEST, "")


def test_the_script_resets_applies_runs_and_marks() -> None:
    task = make_task(1)
    script = eval_script(task, LogParser.DJANGO)
    assert script.startswith("#!/bin/bash\nset -uxo pipefail\ncd /testbed\n")
    lines = script.splitlines()
    start, end = lines.index(f"echo '{START}'"), lines.index(f"echo '{END}'")
    assert lines[end - 1] == "(exit $tf_status)"  # the harness records the test exit status
    assert lines[start + 1].startswith("cat ") and start < end
    assert task.test_patch.splitlines()[0] in lines  # applied through a here-document
    assert "runuser -u taskforge" in script and "-p taskforge_report" in script
    assert lines[3].startswith("for path in tests/test_x.py; do git checkout -q HEAD")
    assert lines[-1] == lines[3]  # the test files are reset again after the run
