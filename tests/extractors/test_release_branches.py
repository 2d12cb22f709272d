"""Whole-ancestry mining: PRs merged into release branches, backports kept once."""

from __future__ import annotations

from pathlib import Path

import git

from extractors.git_history import MergedPull, find_merged_pulls
from pipeline.core.records import MergeKind
from pipeline.demo.sample_repo import History


def _merge_base(repo: git.Repo, one: str, other: str) -> str:
    return str(repo.git.merge_base(one, other)).strip()


def release_history(path: Path) -> tuple[git.Repo, dict[str, str]]:
    """main and a 2.0.x branch: PRs land on 2.0.x (merge, squash, local merge, a backport
    cherry-picked from main), then 2.0.x is merged into main."""
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    shas = {"root": history.commit("root", {"app.py": "x = 0\n", "tests/test_app.py": "\n"})}
    history.branch("2.0.x")
    # on main: #10 squash-merged, later cherry-picked onto 2.0.x under the same subject
    history.checkout("main")
    history.commit("Fix rounding (#10)", {"app.py": "x = 1\n", "tests/test_app.py": "# 10\n"})
    shas["main-10"] = repo.head.commit.hexsha
    # a PR merged into 2.0.x with a merge commit
    history.branch("fix-a", "2.0.x")
    shas["head-11"] = history.commit("fix a", {"a.py": "a = 1\n", "tests/test_a.py": "\n"}, "bob")
    history.checkout("2.0.x")
    shas["2.0.x-before-11"] = repo.head.commit.hexsha
    history.merge("fix-a", "Merge pull request #11 from bob/fix-a")
    shas["merge-11"] = repo.head.commit.hexsha
    # a squash merge into 2.0.x
    history.commit("Fix b (#12)", {"b.py": "b = 1\n", "tests/test_b.py": "\n"})
    shas["squash-12"] = repo.head.commit.hexsha
    # a local merge of a PR branch into 2.0.x, known through refs/pull/13/head
    history.branch("fix-c", "2.0.x")
    shas["head-13"] = history.commit("fix c", {"c.py": "c = 1\n", "tests/test_c.py": "\n"})
    history.checkout("2.0.x")
    history.merge("fix-c", "Merge branch 'fix-c' of https://example.org/x into 2.0.x")
    history.pull_ref(13, "fix-c")
    # the backport of #10: cherry-picked onto 2.0.x, same "(#10)" subject
    history.cherry_pick(shas["main-10"])
    # a backport PR of #10 with a number of its own: the same change again (patch id)
    history.branch("backport-10", shas["root"])
    history.commit("Backport rounding fix", {"app.py": "x = 1\n", "tests/test_app.py": "# 10\n"})
    history.checkout("2.0.x")
    history.merge("backport-10", "Merge pull request #14 from bob/backport-10")
    history.checkout("main")
    history.merge("2.0.x", "Merge branch '2.0.x'")
    shas["main-tip"] = repo.head.commit.hexsha
    return repo, shas


def _by_number(pulls: list[MergedPull]) -> dict[int, MergedPull]:
    return {p.number: p for p in pulls}


def test_pulls_merged_into_a_release_branch_are_found(tmp_path: Path) -> None:
    repo, shas = release_history(tmp_path / "r")
    pulls = _by_number(find_merged_pulls(repo, "main"))
    assert set(pulls) == {10, 11, 12, 13}
    merged = pulls[11]
    assert merged.kind is MergeKind.MERGE_COMMIT
    assert merged.fix_commit == shas["merge-11"]
    assert merged.head_commit == shas["head-11"]
    assert merged.base_commit == _merge_base(repo, shas["2.0.x-before-11"], shas["head-11"])
    squash = pulls[12]
    assert squash.kind is MergeKind.SQUASH and squash.fix_commit == shas["squash-12"]
    assert squash.base_commit == repo.commit(shas["squash-12"]).parents[0].hexsha
    local = pulls[13]
    assert local.kind is MergeKind.LOCAL_MERGE and local.head_commit == shas["head-13"]
    assert local.base_commit == _merge_base(repo, f"{local.fix_commit}^1", shas["head-13"])


def test_a_backport_is_one_task(tmp_path: Path) -> None:
    repo, shas = release_history(tmp_path / "r")
    pulls = _by_number(find_merged_pulls(repo, "main"))
    # the cherry-pick under the same subject and the backport PR #14 are #10 again; the
    # commit on the first-parent line is kept
    assert pulls[10].fix_commit == shas["main-10"]
    assert pulls[10].duplicates == (14,)
    assert 14 not in pulls


def test_first_parent_mining_stays_an_option(tmp_path: Path) -> None:
    repo, _ = release_history(tmp_path / "r")
    assert {p.number for p in find_merged_pulls(repo, "main", first_parent=True)} == {10}


def test_every_merge_base_is_gits_across_lines(tmp_path: Path) -> None:
    repo, _ = release_history(tmp_path / "r")
    for pull in find_merged_pulls(repo, "main"):
        fix = repo.commit(pull.fix_commit)
        merged_into = fix.parents[0].hexsha
        assert pull.base_commit == _merge_base(repo, merged_into, pull.head_commit), pull


def test_a_subject_wrapped_over_lines_is_read_as_git_reads_it(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.commit("root", {"a.py": "a = 0\n"})
    history.commit("Make empty tuples\na syntax error (#364)\n\nMore.", {"a.py": "a = 1\n"})
    (pull,) = find_merged_pulls(repo, "main")
    assert (pull.number, pull.kind) == (364, MergeKind.SQUASH)
    assert pull.message == "Make empty tuples a syntax error\n\nMore."
