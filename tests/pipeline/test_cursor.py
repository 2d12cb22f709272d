"""The incremental cursor: how far it moves, what it covers, how it is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.backfill.cursor import Cursor, advanced, cursor_path, read_cursor, write_cursor
from pipeline.core.errors import UserInputError
from pipeline.dataset.storage import DatasetLayout

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
REPO = "acme/widgets"


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def test_moves_to_the_newest_merge_when_everything_is_written() -> None:
    cursor = advanced(None, REPO, {1: at(1), 2: at(5), 3: at(5)}, pending=set())
    assert cursor == Cursor(repo=REPO, merged_through=at(5), pulls=[2, 3])


def test_stops_before_the_oldest_pull_not_written() -> None:
    cursor = advanced(None, REPO, {1: at(1), 2: at(2), 3: at(3), 4: at(4)}, pending={3, 4})
    assert cursor == Cursor(repo=REPO, merged_through=at(2), pulls=[2])
    assert advanced(None, REPO, {1: at(1), 2: at(2)}, pending={1}) is None


def test_pulls_merged_in_the_same_second_as_a_pending_one_stay_uncovered() -> None:
    cursor = advanced(None, REPO, {1: at(1), 2: at(2), 3: at(2)}, pending={3})
    assert cursor is not None and cursor.merged_through == at(1)
    assert not cursor.covers(2, at(2)) and not cursor.covers(3, at(2))


def test_never_moves_backwards_and_merges_same_second_pulls() -> None:
    previous = Cursor(repo=REPO, merged_through=at(5), pulls=[7])
    assert advanced(previous, REPO, {1: at(1)}, pending=set()) is previous
    assert advanced(previous, REPO, {}, pending=set()) is previous
    same = advanced(previous, REPO, {8: at(5)}, pending=set())
    assert same == Cursor(repo=REPO, merged_through=at(5), pulls=[7, 8])


def test_covers_older_merges_and_the_handled_pulls_of_its_second() -> None:
    cursor = Cursor(repo=REPO, merged_through=at(5), pulls=[7])
    assert cursor.covers(1, at(4)) and cursor.covers(7, at(5))
    assert not cursor.covers(8, at(5)) and not cursor.covers(9, at(6))


def test_written_atomically_into_the_work_folder_and_read_back(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    assert read_cursor(layout, REPO) is None
    cursor = Cursor(repo=REPO, merged_through=at(5), pulls=[7])
    write_cursor(layout, cursor)
    assert read_cursor(layout, REPO) == cursor
    cursors = tmp_path / "work" / "cursors"
    assert cursor_path(layout, REPO) == cursors / "acme__widgets.json"
    assert [p.name for p in cursors.iterdir()] == ["acme__widgets.json"]
    assert not layout.root.exists()  # not published with the dataset


def test_an_unreadable_cursor_says_what_to_do(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    path = cursor_path(layout, REPO)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(UserInputError, match=r"acme__widgets\.json is unreadable; delete it"):
        read_cursor(layout, REPO)
