"""Fixtures for the GitHub extractors: a fake GitHub serving ``acme/widgets``, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from extractors.github_api import GithubClient
from tests.fakes.github_server import FAKE_TOKEN, FakeGithub, quick_access

WIDGETS = "acme/widgets"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(FAKE_TOKEN + "\n")
    return path


@pytest.fixture
def widgets() -> Iterator[FakeGithub]:
    server = FakeGithub(WIDGETS, "file:///nowhere", FAKE_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def widgets_client(widgets: FakeGithub, token_file: Path) -> Iterator[GithubClient]:
    with GithubClient(quick_access(widgets, token_file), WIDGETS) as client:
        yield client
