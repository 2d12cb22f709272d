from __future__ import annotations

from pathlib import Path

import git

from extractors.git_history import find_merged_pulls, target_branch
from pipeline.core.records import MergeKind, ProblemSource
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES


def _subject(repo: git.Repo, sha: str) -> str:
    return str(repo.commit(sha).summary)


def test_every_designed_pull_is_found_once(sample_repo: git.Repo) -> None:
    pulls = find_merged_pulls(sample_repo, "main")
    assert sorted(p.number for p in pulls) == sorted(DESIGNED_OUTCOMES)
    kinds = {p.number: p.kind for p in pulls}
    assert kinds[1] is MergeKind.MERGE_COMMIT
    assert kinds[2] is MergeKind.SQUASH
    assert kinds[4] is MergeKind.SQUASH
    assert kinds[8] is MergeKind.REBASE
    assert kinds[9] is MergeKind.LOCAL_MERGE


def test_base_is_where_the_pull_branched_not_the_first_parent(sample_repo: git.Repo) -> None:
    pulls = {p.number: p for p in find_merged_pulls(sample_repo, "main")}
    initial = next(sample_repo.iter_commits("main", reverse=True)).hexsha
    first = pulls[1]
    merge = sample_repo.commit(first.fix_commit)
    assert first.base_commit == initial
    assert merge.parents[0].hexsha != initial  # #2 landed in between
    assert first.head_commit == merge.parents[1].hexsha
    assert "word_count miscounts" in first.message
    assert first.problem_source is ProblemSource.COMMIT_MESSAGE


def test_squash_with_pull_ref_uses_the_ref_head(sample_repo: git.Repo) -> None:
    pulls = {p.number: p for p in find_merged_pulls(sample_repo, "main")}
    squash = pulls[2]
    assert squash.head_commit == sample_repo.git.rev_parse("refs/pull/2/head")
    assert squash.message.startswith("Add title_case helper")
    assert "(#2)" not in squash.message
    without_ref = pulls[4]
    assert without_ref.head_commit == without_ref.fix_commit
    assert without_ref.base_commit == sample_repo.commit(without_ref.fix_commit).parents[0].hexsha


def test_rebase_merge_points_at_the_replayed_commit(sample_repo: git.Repo) -> None:
    pulls = {p.number: p for p in find_merged_pulls(sample_repo, "main")}
    rebased = pulls[8]
    assert rebased.fix_commit != rebased.head_commit
    assert _subject(sample_repo, rebased.fix_commit) == "Optional ellipsis in truncate"
    main = sample_repo.commit("main")
    assert sample_repo.is_ancestor(sample_repo.commit(rebased.fix_commit), main)
    assert not sample_repo.is_ancestor(sample_repo.commit(rebased.head_commit), main)
    assert rebased.problem_source is ProblemSource.PR_COMMITS
    assert "Test plain truncation" in rebased.message


def test_local_merge_found_through_its_ref(sample_repo: git.Repo) -> None:
    pulls = {p.number: p for p in find_merged_pulls(sample_repo, "main")}
    local = pulls[9]
    assert _subject(sample_repo, local.fix_commit) == "Merge branch 'strip-slug'"
    assert local.head_commit == sample_repo.git.rev_parse("refs/pull/9/head")


def test_unmerged_pull_ref_is_ignored(tmp_path: Path, sample_repo_path: Path) -> None:
    clone = git.Repo.clone_from(sample_repo_path, tmp_path / "clone")
    clone.git.fetch("origin", "+refs/pull/*/head:refs/pull/*/head")
    clone.git.checkout("-q", "-b", "abandoned", "main~3")
    (tmp_path / "clone" / "abandoned.py").write_text("x = 1\n")
    clone.git.add("--all")
    clone.git.commit("-qm", "Never merged")
    clone.git.update_ref("refs/pull/77/head", "abandoned")
    clone.git.checkout("-q", "main")
    numbers = {p.number for p in find_merged_pulls(clone, "main")}
    assert 77 not in numbers
    assert numbers == set(DESIGNED_OUTCOMES)


def test_a_pull_ref_of_another_history_is_ignored(tmp_path: Path) -> None:
    """A head with no commit in common with the branch whose change equals one of the
    branch's (an orphan commit of the same files): git finds no merge-base, and the PR is
    not the branch's (seen in jhy/jsoup, which stopped mining before)."""
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    (tmp_path / "r" / "a.py").write_text("x = 1\n")
    repo.git.add("--all")
    repo.git.commit("-qm", "Initial commit")
    repo.git.checkout("-q", "--orphan", "elsewhere")
    repo.git.commit("-qm", "The same files, another root")
    repo.git.update_ref("refs/pull/5/head", "elsewhere")
    repo.git.checkout("-q", "main")
    assert find_merged_pulls(repo, "main") == []


def test_target_branch_defaults_to_head(sample_repo: git.Repo) -> None:
    assert target_branch(sample_repo, None) == "main"
    assert target_branch(sample_repo, "other") == "other"
