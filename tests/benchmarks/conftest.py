"""The benchmark session: options, the shared figures, and the JSON file they end up in.

``make bench [REPO=/path/to/clone REPO_NAME=owner/name PRS=50]`` runs ``pytest
tests/benchmarks`` with these options; every benchmark adds its figures to ``figures``, and at the
end of the session they are written, with the machine described, to
``bench-results/bench-<time>.json`` — whose path ``python -m tests.benchmarks.report`` prints
last, after the table.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskforge benchmarks")
    group.addoption("--bench-repo", default="", help="a local clone of a real repository")
    group.addoption("--bench-repo-name", default="", help="its OWNER/NAME")
    group.addoption("--bench-prs", type=int, default=50, help="how many newest merged PRs")


def machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    collected: dict[str, Any] = {}
    yield collected
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": collected,
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / "latest").write_text(str(path) + "\n")
