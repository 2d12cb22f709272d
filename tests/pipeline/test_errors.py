"""One exception tree: every class the packages define is in it, and each branch has its exit."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import dockerfiles
import extractors
import pipeline
import validators
from pipeline.core import errors
from pipeline.core.errors import (
    EXIT_INFRASTRUCTURE,
    EXIT_INPUT,
    EXIT_TERMINAL,
    TaskforgeError,
    TerminalError,
    TransientError,
    UserInputError,
    exit_code,
)

BRANCHES = (UserInputError, TerminalError, TransientError)


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for package in (pipeline, extractors, dockerfiles, validators):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.startswith("pipeline.cli"):
                continue  # the CLI defines no exception of its own and imports Typer's
            module = importlib.import_module(info.name)
            found += [
                value
                for _, value in inspect.getmembers(module, inspect.isclass)
                if issubclass(value, BaseException) and value.__module__ == info.name
            ]
    return found


def test_every_exception_is_on_a_branch_of_the_tree() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15
    outside = [
        c.__qualname__ for c in classes if c is not TaskforgeError and not issubclass(c, BRANCHES)
    ]
    assert outside == []
    drawn = errors.__doc__ or ""
    missing = [c.__name__ for c in classes if c.__name__ not in drawn]
    assert missing == [], "draw every class in pipeline.core.errors' docstring"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UserInputError("x"), EXIT_INPUT),
        (TransientError("x"), EXIT_INFRASTRUCTURE),
        (TerminalError("x"), EXIT_TERMINAL),
        (TaskforgeError("x"), EXIT_TERMINAL),
    ],
)
def test_each_branch_has_its_exit_code(error: TaskforgeError, code: int) -> None:
    assert exit_code(error) == code
