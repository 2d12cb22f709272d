"""Licence and version read from the base commit's files."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from extractors.project_facts import (
    ProjectFacts,
    facts_at,
    licence_id,
    licence_of_text,
    project_version,
)

MIT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software ... The above copyright notice and this permission notice shall be included
"""
BSD3 = """Redistribution and use in source and binary forms, with or without modification, are
permitted ... 3. Neither the name of the copyright holder nor the names of its contributors"""
APACHE = "          Apache License\n            Version 2.0, January 2004"


@pytest.mark.parametrize(
    ("text", "spdx"),
    [(MIT, "MIT"), (BSD3, "BSD-3-Clause"), (APACHE, "Apache-2.0"), ("all rights reserved", "")],
)
def test_licence_texts(text: str, spdx: str) -> None:
    assert licence_of_text(text) == spdx


def test_packaging_statement_wins_over_the_file() -> None:
    pyproject = '[project]\nname = "x"\nversion = "2.1.0"\nlicense = "Apache-2.0"\n'
    files = {"pyproject.toml": pyproject, "LICENSE": MIT}
    assert (licence_id(files), project_version(files)) == ("Apache-2.0", "2.1.0")


def test_licence_file_and_setup_py_version() -> None:
    setup = "from setuptools import setup\nsetup(name='x', version='0.9.1', packages=[])\n"
    files = {"setup.py": setup, "LICENSE.txt": BSD3}
    assert (licence_id(files), project_version(files)) == ("BSD-3-Clause", "0.9.1")


def test_unknown_is_empty() -> None:
    pyproject = '[project]\nname = "x"\ndynamic = ["version"]\n'
    cfg = "[metadata]\nversion = attr: x.__version__\n"
    files = {"pyproject.toml": pyproject, "setup.cfg": cfg}
    assert (licence_id(files), project_version(files)) == ("", "")


def test_classifier_and_setup_cfg() -> None:
    pyproject = (
        '[project]\nname = "x"\ndynamic = ["version"]\n'
        'classifiers = ["License :: OSI Approved :: MIT License"]\n'
    )
    files = {"pyproject.toml": pyproject, "setup.cfg": "[metadata]\nversion = 3.0\n"}
    assert (licence_id(files), project_version(files)) == ("MIT", "3.0")


def test_facts_of_many_commits_in_one_batch(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r")
    work = tmp_path / "r"
    (work / "LICENSE").write_text(MIT)
    (work / "setup.py").write_text("from setuptools import setup\nsetup(version='1.0')\n")
    repo.index.add(["LICENSE", "setup.py"])
    first = repo.index.commit("first").hexsha
    (work / "setup.py").write_text("from setuptools import setup\nsetup(version='1.1')\n")
    repo.index.add(["setup.py"])
    second = repo.index.commit("second").hexsha
    repo.close()
    facts = facts_at(repo.git_dir, [first, second, first, "0" * 40])
    assert facts == {
        first: ProjectFacts("MIT", "1.0"),
        second: ProjectFacts("MIT", "1.1"),
        "0" * 40: ProjectFacts(),
    }
