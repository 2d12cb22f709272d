"""How a failed collection is explained in an environment attempt."""

from __future__ import annotations

import pytest

from validators.collect import collection_error, first_error


def test_collection_error_names_the_cause() -> None:
    output = "ERROR tests/test_a.py\nE   ModuleNotFoundError: No module named 'six'\n1 error\n"
    assert collection_error(output, 1) == "ModuleNotFoundError: No module named 'six'"
    assert collection_error("ERROR tests/test_b.py - DeprecationWarning: old\n", 1).startswith(
        "ERROR tests/test_b.py"
    )
    assert collection_error("", 4) == "pytest exit code 4: no output"


@pytest.mark.parametrize(
    ("output", "said"),
    [
        (  # seanmonstar/httparse on a newer rustc: the first error, not our memory marker
            "warning: unused\nerror: unexpected `cfg` condition name: `httparse_simd`\n"
            " --> src/simd/mod.rs:2:5\nerror: could not compile `httparse` (lib test)\n"
            "taskforge-peak-memory: 76922880\n",
            "error: unexpected `cfg` condition name: `httparse_simd`",
        ),
        (
            "error[E0425]: cannot find value `x`\nerror: aborting\n",
            "error[E0425]: cannot find value `x`",
        ),
        (
            "# example.com/calc\n./calc.go:3:2: undefined: foo\nFAIL\n",
            "./calc.go:3:2: undefined: foo",
        ),
        (
            "[ERROR] COMPILATION ERROR :\n[ERROR] /repo/src/A.java:[12,5] cannot find symbol\n",
            "[ERROR] /repo/src/A.java:[12,5] cannot find symbol",
        ),
        ("something odd\nlast words\ntaskforge-peak-memory: 1\n", "last words"),
        ("taskforge-peak-memory: 1\n", "no output"),
    ],
)
def test_a_failed_build_is_named_by_its_first_error(output: str, said: str) -> None:
    assert first_error(output) == said
