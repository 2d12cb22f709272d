"""Licence and version read from the base commit's files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import git
import pytest

from extractors.project_facts import licence_id, licence_of_text, project_version

MIT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software ... The above copyright notice and this permission notice shall be included
"""
BSD3 = """Redistribution and use in source and binary forms, with or without modification, are
permitted ... 3. Neither the name of the copyright holder nor the names of its contributors"""
APACHE = "          Apache License\n            Version 2.0, January 2004"


MakeTree = Callable[[dict[str, str]], git.Tree]


@pytest.fixture
def make_tree(tmp_path: Path) -> Iterator[MakeTree]:
    """A tree of a one-commit repository holding ``files``; the repository closed after."""
    repo = git.Repo.init(tmp_path / "r")

    def make(files: dict[str, str]) -> git.Tree:
        for name, text in files.items():
            (tmp_path / "r" / name).write_text(text)
        repo.index.add(list(files))
        return repo.index.commit("base").tree

    yield make
    repo.close()


@pytest.mark.parametrize(
    ("text", "spdx"),
    [(MIT, "MIT"), (BSD3, "BSD-3-Clause"), (APACHE, "Apache-2.0"), ("all rights reserved", "")],
)
def test_licence_texts(text: str, spdx: str) -> None:
    assert licence_of_text(text) == spdx


def test_packaging_statement_wins_over_the_file(make_tree: MakeTree) -> None:
    pyproject = '[project]\nname = "x"\nversion = "2.1.0"\nlicense = "Apache-2.0"\n'
    tree = make_tree({"pyproject.toml": pyproject, "LICENSE": MIT})
    assert (licence_id(tree), project_version(tree)) == ("Apache-2.0", "2.1.0")


def test_licence_file_and_setup_py_version(make_tree: MakeTree) -> None:
    setup = "from setuptools import setup\nsetup(name='x', version='0.9.1', packages=[])\n"
    tree = make_tree({"setup.py": setup, "LICENSE.txt": BSD3})
    assert (licence_id(tree), project_version(tree)) == ("BSD-3-Clause", "0.9.1")


def test_unknown_is_empty(make_tree: MakeTree) -> None:
    pyproject = '[project]\nname = "x"\ndynamic = ["version"]\n'
    cfg = "[metadata]\nversion = attr: x.__version__\n"
    tree = make_tree({"pyproject.toml": pyproject, "setup.cfg": cfg})
    assert (licence_id(tree), project_version(tree)) == ("", "")


def test_classifier_and_setup_cfg(make_tree: MakeTree) -> None:
    pyproject = (
        '[project]\nname = "x"\ndynamic = ["version"]\n'
        'classifiers = ["License :: OSI Approved :: MIT License"]\n'
    )
    tree = make_tree({"pyproject.toml": pyproject, "setup.cfg": "[metadata]\nversion = 3.0\n"})
    assert (licence_id(tree), project_version(tree)) == ("MIT", "3.0")
