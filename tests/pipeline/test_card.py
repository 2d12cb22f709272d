"""The dataset card: front matter read back with huggingface_hub's own card classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CardData, DatasetCard

from pipeline.core.languages import Language
from pipeline.core.records import Outcome
from pipeline.dataset.browse import DatasetStats, RepoStats
from pipeline.dataset.card import GENERATED_MARK, card_data, finalize, hub_id, hub_license
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import make_task

TRAIN_CONFIG = {
    "config_name": "default",
    "data_files": [{"split": "train", "path": "data/train-*.parquet"}],
    "default": True,
}
REJECTED_CONFIG = {
    "config_name": "rejected",
    "data_files": [{"split": "train", "path": "rejected/rejected-*.parquet"}],
}


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    layout = DatasetLayout(tmp_path / "out")
    layout.prepare()
    return layout


def _as_dict(data: CardData) -> dict[str, Any]:
    found: dict[str, Any] = data.to_dict()  # type: ignore[no-untyped-call]  # unannotated upstream
    return found


def _front_matter(layout: DatasetLayout[Path]) -> dict[str, Any]:
    """The card's front matter as huggingface_hub reads it, from the file and from its text."""
    finalize(layout)
    loaded = _as_dict(DatasetCard.load(layout.card_path).data)
    assert loaded == _as_dict(DatasetCard(layout.card_path.read_text()).data)
    return loaded


def test_the_front_matter_round_trips_through_huggingface_hub(layout: DatasetLayout[Path]) -> None:
    write_tasks(layout, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(4, repo="p/q", license="Apache-2.0")])
    assert _front_matter(layout) == {
        "license": ["apache-2.0", "mit"],
        "size_categories": ["n<1K"],
        "task_categories": ["text-generation"],
        "pretty_name": "taskforge tasks: o/n, p/q",
        "tags": ["code", "software-engineering", "swe-bench", "python"],
        "configs": [TRAIN_CONFIG, REJECTED_CONFIG],
    }
    card = DatasetCard.load(layout.card_path)
    assert card.text.startswith(GENERATED_MARK + "\n\n# taskforge tasks\n")
    assert "3 verified and 1 rejected candidates from 2 repositories" in card.text
    assert "| o/n | MIT |\n| p/q | Apache-2.0 |" in card.text
    assert "| `FAIL_TO_PASS` | `list<item: string>` |" in card.text
    # one language, one row: 3 of 4 verified, FAIL_TO_PASS of 2 tests each
    assert "| python | 3 | 1 | 75% | 2 | timeout (1) |\n\n" in card.text
    assert [p.name for p in layout.root.iterdir() if p.name.endswith(".tmp")] == []


def test_the_card_breaks_the_tasks_down_by_language(layout: DatasetLayout[Path]) -> None:
    go: dict[str, Any] = {"repo": "g/o", "language": Language.GO}
    rust: dict[str, Any] = {"language": Language.RUST}
    write_tasks(
        layout,
        [
            make_task(1, FAIL_TO_PASS=["tests/test_x.py::test_a"]),
            make_task(2, Outcome.NO_FAIL_TO_PASS),
            make_task(1, **go, FAIL_TO_PASS=["example.com/g/o::TestA", "example.com/g/o::TestB"]),
            make_task(2, **go, FAIL_TO_PASS=["example.com/g/o::TestC"] * 5),
            make_task(3, Outcome.UNSUPPORTED_LANGUAGE, **go),
            make_task(4, Outcome.UNSUPPORTED_LANGUAGE, **rust),  # rejected only
        ],
    )
    data = _front_matter(layout)
    # the languages of verified tasks, in the order of Language; rust has none
    assert data["tags"] == ["code", "software-engineering", "swe-bench", "python", "go"]
    text = layout.card_path.read_text()
    table = (
        "| language | verified | rejected | verified share | FAIL_TO_PASS per task (median) "
        "| top rejections |\n"
        "| --- | ---: | ---: | ---: | ---: | --- |\n"
        "| python | 1 | 1 | 50% | 1 | no_fail_to_pass (1) |\n"
        "| go | 2 | 1 | 67% | 3.5 | unsupported_language (1) |\n"
        "| rust | 0 | 1 | 0% | - | unsupported_language (1) |\n"
    )
    assert table in text
    assert "| unsupported_language | 2 |" in text  # the reasons over every language


def test_one_licence_is_a_string_and_a_config_needs_shards(layout: DatasetLayout[Path]) -> None:
    write_tasks(layout, [make_task(1, Outcome.DOCS_ONLY), make_task(2, Outcome.TIMEOUT)])
    data = _front_matter(layout)
    assert data["license"] == "mit"
    assert data["configs"] == [REJECTED_CONFIG]  # no verified task: no default config


def test_a_dataset_without_tasks_has_an_unknown_licence_and_no_configs(
    layout: DatasetLayout[Path],
) -> None:
    data = _front_matter(layout)
    assert (data["license"], data["pretty_name"]) == (
        "unknown",
        "taskforge tasks: no repository yet",
    )
    assert "configs" not in data


def test_unknown_and_other_licences(layout: DatasetLayout[Path]) -> None:
    write_tasks(layout, [make_task(1, license=""), make_task(2, repo="p/q", license="PSF-2.0")])
    data = _front_matter(layout)
    assert data["license"] == ["other", "unknown"]
    assert data["license_name"] == "psf-2.0"
    assert data["license_link"] == "https://spdx.org/licenses/PSF-2.0.html"
    assert "| o/n | unknown |" in layout.card_path.read_text()


def test_several_other_licences_are_named_in_the_details(layout: DatasetLayout[Path]) -> None:
    write_tasks(
        layout,
        [make_task(1, license="PSF-2.0"), make_task(2, repo="p/q", license="MIT OR Apache-2.0")],
    )
    data = _front_matter(layout)
    assert data["license"] == "other"
    assert (
        data["license_details"] == "SPDX: MIT OR Apache-2.0, PSF-2.0 (per repository in the card)"
    )
    assert "license_name" not in data


@pytest.mark.parametrize(
    ("spdx", "hub"),
    [
        ("MIT", "mit"),
        ("BSD-3-Clause", "bsd-3-clause"),
        ("GPL-3.0-or-later", "gpl-3.0"),
        ("LGPL-2.1-only", "lgpl-2.1"),
        ("GPL-2.0+", "gpl-2.0"),
        ("Zlib", "zlib"),
        ("PSF-2.0", "other"),
        ("MIT OR Apache-2.0", "other"),
        ("", "unknown"),
    ],
)
def test_spdx_ids_become_the_hubs_licence_ids(spdx: str, hub: str) -> None:
    assert hub_id(spdx) == hub


def test_the_licence_field_is_one_id_when_all_agree() -> None:
    assert hub_license(["MIT", "MIT"]) == "mit"
    assert hub_license(["MIT", "", "Apache-2.0"]) == ["apache-2.0", "mit", "unknown"]
    assert hub_license([]) == "unknown"


@pytest.mark.parametrize(
    ("verified", "size"),
    [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (99_999, "10K<n<100K"), (10**5, "100K<n<1M")],
)
def test_size_categories_count_verified_tasks(
    layout: DatasetLayout[Path], verified: int, size: str
) -> None:
    repo = RepoStats("o/n", verified, {}, {}, 1.0, 1)
    data = card_data(layout, DatasetStats([repo], 0, 0), "o/n", {"o/n": ["MIT"]})
    assert _as_dict(data)["size_categories"] == [size]
