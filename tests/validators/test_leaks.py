"""Golden-file tests of the leak detector: a task's texts and fix in, the leaks out.

Each folder of ``golden/leaks`` is one case: ``problem_statement.md``, an optional
``hints_text.md``, an optional ``patch.diff`` (else the shared ``area.diff``), and
``case.json`` with the fix commit and the leaks the detector must find, in order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.records import Leak
from tests.pipeline.factories import make_task
from validators.leaks import collapse, find_leaks, fix_lines, telling

GOLDEN = Path(__file__).parent / "golden" / "leaks"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())


def read(case: Path, name: str) -> str:
    path = case / name
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_leaks(case: Path) -> None:
    data = json.loads((case / "case.json").read_text())
    task = make_task(1).revised(
        patch=read(case, "patch.diff") or (GOLDEN / "area.diff").read_text(),
        problem_statement=read(case, "problem_statement.md"),
        hints_text=read(case, "hints_text.md"),
        fix_commit=data["fix_commit"],
    )
    assert find_leaks(task) == [Leak.model_validate(leak) for leak in data["expected"]]


def test_the_cases_cover_each_kind_and_clean_texts() -> None:
    kinds = set()
    clean = 0
    for case in CASES:
        expected = json.loads((case / "case.json").read_text())["expected"]
        kinds |= {leak["kind"] for leak in expected}
        clean += not expected
    assert kinds == {"added_line", "diff", "commit_id"} and clean >= 3


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("}", False),
        ("return None", False),
        ("else:", False),
        ("from collections.abc import Sequence", False),  # an import of one name
        ('import { parseRequestBody } from "./parsing/request";', False),
        ("use crate::parsing::request::parse_body;", False),
        ("# reject a negative radius: it has no area", False),  # a comment
        ("counter = counter + offset", True),
        ("from collections.abc import Mapping, Sequence", True),  # two names: a real change
        ("if err := validate(request); err != nil {", True),
    ],
)
def test_which_added_lines_can_leak(line: str, counts: bool) -> None:
    assert telling(collapse(line)) is counts


def test_fix_lines_reads_hunks_and_headers() -> None:
    lines = fix_lines((GOLDEN / "area.diff").read_text())
    assert lines.paths == {"src/shapes/area.py"}
    assert "return math.pi * radius * radius" in lines.removed
    assert lines.added[0] == "import os" and len(lines.added) == 6
