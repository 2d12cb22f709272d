"""How a failed collection is explained in an environment attempt."""

from __future__ import annotations

from validators.collect import collection_error


def test_collection_error_names_the_cause() -> None:
    output = "ERROR tests/test_a.py\nE   ModuleNotFoundError: No module named 'six'\n1 error\n"
    assert collection_error(output, 1) == "ModuleNotFoundError: No module named 'six'"
    assert collection_error("ERROR tests/test_b.py - DeprecationWarning: old\n", 1).startswith(
        "ERROR tests/test_b.py"
    )
    assert collection_error("", 4) == "pytest exit code 4: no output"
