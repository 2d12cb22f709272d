from __future__ import annotations

import pytest

from dockerfiles.base import BOOTSTRAPPED, available_pythons
from dockerfiles.python_era import choose_pythons, python_evidence

AVAILABLE = ["3.9", "3.11", "3.13"]


def classifiers(*versions: str) -> str:
    lines = "\n".join(f'    "Programming Language :: Python :: {v}",' for v in versions)
    return f'[project]\nname = "x"\nclassifiers = [\n{lines}\n]\n'


@pytest.mark.parametrize(
    ("files", "best"),
    [
        ({}, ["3.11", "3.9", "3.13"]),  # nothing known: the default, then nearest
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.12"\n'}, ["3.13", "3.11", "3.9"]),
        ({"pyproject.toml": classifiers("3.6", "3.7", "3.8")}, ["3.9", "3.11", "3.13"]),
        ({"pyproject.toml": classifiers("3.8", "3.9", "3.10")}, ["3.9", "3.11", "3.13"]),
        ({"pyproject.toml": classifiers("3.11", "3.12", "3.13")}, ["3.13", "3.11", "3.9"]),
        (
            {
                "setup.py": "setup(python_requires='>=3.10',\n classifiers=["
                "'Programming Language :: Python :: 3.12'])"
            },
            ["3.11", "3.13", "3.9"],
        ),
        ({"setup.cfg": "[options]\npython_requires = <3.10\n"}, ["3.9", "3.11", "3.13"]),
        ({"tox.ini": "[tox]\nenvlist = py37, py38, pypy3\n"}, ["3.9", "3.11", "3.13"]),
    ],
)
def test_choose_pythons(files: dict[str, str], best: list[str]) -> None:
    assert choose_pythons(files, AVAILABLE, "3.11") == best


def test_evidence() -> None:
    specifier, claimed = python_evidence(
        {
            "pyproject.toml": classifiers("3.8", "3.10").replace(
                "[project]\n", '[project]\nrequires-python = ">=3.8"\n'
            ),
            "tox.ini": "[tox]\nenvlist = py39,py311\n",
        }
    )
    assert "3.8" in specifier and "3.7" not in specifier
    assert claimed == ["3.8", "3.9", "3.10", "3.11"]


def test_bad_requires_python_is_ignored() -> None:
    specifier, _ = python_evidence({"pyproject.toml": '[project]\nrequires-python = "three"\n'})
    assert str(specifier) == ""


WIDE = [f"3.{minor}" for minor in range(6, 15)]  # every CPython where a registry answers


@pytest.mark.parametrize(
    ("files", "best"),
    [
        (
            {
                "setup.py": "classifiers=['Programming Language :: Python :: 3.6',\n"
                "'Programming Language :: Python :: 3.7']"
            },
            ["3.7", "3.6"],
        ),
        ({"tox.ini": "[tox]\nenvlist = py36, py37\n"}, ["3.7", "3.6"]),
        ({"pyproject.toml": classifiers("3.8", "3.9", "3.10")}, ["3.10", "3.9"]),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.12"\n'}, ["3.12", "3.13"]),
        ({}, ["3.11", "3.10"]),
    ],
)
def test_every_cpython_is_a_candidate_where_a_registry_answers(
    files: dict[str, str], best: list[str]
) -> None:
    assert choose_pythons(files, WIDE, "3.11")[:2] == best


def test_available_pythons() -> None:
    assert available_pythons(registry=True) == WIDE
    assert set(BOOTSTRAPPED) <= set(available_pythons(registry=False)) < set(WIDE)
    assert BOOTSTRAPPED == ["3.9", "3.11", "3.13"]
