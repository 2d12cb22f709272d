from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dockerfiles.overrides import DEFAULT_OVERRIDES, apply_override, load_overrides, matching
from pipeline.core.errors import UserInputError
from pipeline.core.records import InstallConfig

OVERRIDES = """
[[repo]]
repo = "o/n"
python = "3.9"
extra_packages = ["mock"]

[[repo]]
repo = "o/n"
since = 2022-01-01T00:00:00Z
extras = ["dev"]
system_packages = ["libxml2-dev"]
environment = { TZ = "UTC" }
pin_dependencies = false
"""


def test_date_ranges_and_merging(tmp_path: Path) -> None:
    path = tmp_path / "overrides.toml"
    path.write_text(OVERRIDES)
    overrides = load_overrides(path)
    early = matching(overrides, "o/n", datetime(2021, 6, 1, tzinfo=UTC))
    late = matching(overrides, "O/N", datetime(2023, 6, 1, tzinfo=UTC))
    assert early is not None and early.extras is None and early.python == "3.9"
    assert late is not None and late.extras == ["dev"] and late.python == "3.9"
    assert matching(overrides, "other/repo", datetime(2023, 1, 1, tzinfo=UTC)) is None
    config = InstallConfig(
        python="3.9",
        base_image="b",
        extras=["test"],
        extra_packages=["pytest"],
        exclude_newer=datetime(2020, 1, 1, tzinfo=UTC),
    )
    applied = apply_override(config, late)
    assert applied.extras == ["dev"]
    assert applied.extra_packages == ["pytest", "mock"]
    assert applied.system_packages == ["libxml2-dev"]
    assert applied.environment == ["TZ=UTC"]
    assert applied.exclude_newer is None


def test_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "overrides.toml"
    path.write_text('[[repo]]\nrepo = "o/n"\npyhton = "3.9"\n')
    with pytest.raises(UserInputError, match="not a valid overrides file"):
        load_overrides(path)


def test_committed_overrides_file_loads() -> None:
    assert DEFAULT_OVERRIDES.is_file()
    load_overrides()
