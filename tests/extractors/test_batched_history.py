"""The batched readers of history agree with git's own one-process-per-question answers."""

from __future__ import annotations

import os
from pathlib import Path

import git

from extractors.commit_graph import CommitGraph
from extractors.git_history import find_merged_pulls
from extractors.pull_diffs import file_sections, pull_diffs
from extractors.rebase_merges import PatchMatcher
from pipeline.demo.sample_repo import History


def _merge_base(repo: git.Repo, one: str, other: str) -> str:
    return str(repo.git.merge_base(one, other)).strip()


def test_every_merge_base_is_gits(sample_repo: git.Repo) -> None:
    pulls = find_merged_pulls(sample_repo, "main")
    assert pulls
    for pull in pulls:
        fix = sample_repo.commit(pull.fix_commit)
        mainline = fix.parents[0].hexsha if pull.kind.value != "rebase" else "main"
        assert pull.base_commit == _merge_base(sample_repo, mainline, pull.head_commit), pull


def _branching_history(path: Path) -> tuple[git.Repo, dict[str, str]]:
    """main with a PR that merged main into itself, and one that did not."""
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    shas = {"root": history.commit("root", {"a.py": "a = 1\n"})}
    history.branch("feature")
    shas["feature-1"] = history.commit("feature work", {"f.py": "f = 1\n"}, author="bob")
    history.checkout("main")
    shas["main-2"] = history.commit("main moves on", {"b.py": "b = 1\n"})
    history.checkout("feature")
    history.merge("main", "Merge branch 'main' into feature")
    shas["feature-2"] = history.commit("more feature work", {"f.py": "f = 2\n"}, author="bob")
    history.checkout("main")
    history.merge("feature", "Merge pull request #5 from bob/feature")
    history.branch("plain")
    shas["plain-1"] = history.commit("plain work", {"p.py": "p = 1\n"}, author="carol")
    history.checkout("main")
    shas["main-3"] = history.commit("main again", {"b.py": "b = 2\n"})
    history.merge("plain", "Merge pull request #6 from carol/plain")
    return repo, shas


def test_walk_finds_the_merge_base_when_a_pull_merged_main_into_itself(tmp_path: Path) -> None:
    repo, shas = _branching_history(tmp_path / "r")
    graph = CommitGraph(repo.git_dir, "main", [])
    merges = {c.subject: c for c in graph.mainline if len(c.parents) == 2}
    plain = merges["Merge pull request #6 from carol/plain"]
    walk = graph.walk(plain.parents[0], plain.parents[1])
    assert walk is not None
    assert walk.base == _merge_base(repo, plain.parents[0], plain.parents[1])
    assert walk.commits == {shas["plain-1"]}
    # #5 merged main into itself: the fork point and main-2 are met; main-2 is the base
    feature = merges["Merge pull request #5 from bob/feature"]
    walk = graph.walk(feature.parents[0], feature.parents[1])
    assert walk is not None
    assert walk.base == shas["main-2"] == _merge_base(repo, *feature.parents)
    expected = repo.git.rev_list(f"{walk.base}..{feature.parents[1]}").split()
    assert walk.commits == set(expected)
    pulls = {p.number: p for p in find_merged_pulls(repo, "main")}
    assert pulls[5].base_commit == shas["main-2"] == _merge_base(repo, *feature.parents)
    assert pulls[6].base_commit == _merge_base(repo, *plain.parents)


def test_diffs_are_gits_diffs_byte_for_byte(sample_repo: git.Repo) -> None:
    pulls = find_merged_pulls(sample_repo, "main")
    pairs = [(p.base_commit, p.head_commit) for p in pulls]
    pairs.append((pulls[0].base_commit, pulls[1].head_commit))  # a head with a second base
    pairs.append((pulls[0].head_commit, pulls[0].head_commit))  # an empty diff
    diffs = pull_diffs(sample_repo.git_dir, pairs)
    for base, head in pairs:
        expected = sample_repo.git.diff(
            "--binary", "--no-renames", "--full-index", base, head, strip_newline_in_stdout=False
        )
        assert diffs[(base, head)] == expected
    assert diffs[(pulls[0].head_commit, pulls[0].head_commit)] == ""


def test_file_sections_split_odd_paths_and_binary_files(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    base = history.commit("root", {"plain.py": "x = 1\n"})
    (tmp_path / "r" / "logo.png").write_bytes(bytes(range(256)) * 4)
    head = history.commit(
        "odd files", {"plain.py": "x = 2\n", "dir with space/t é.py": "y = 1\n", "e.txt": ""}
    )
    diff = pull_diffs(repo.git_dir, [(base, head)])[(base, head)]
    sections = file_sections(diff)
    assert "".join(text for _, text in sections) == diff
    files = {str(f.path): f for f, _ in sections}
    assert set(files) == {"plain.py", "dir with space/t é.py", "e.txt", "logo.png"}
    assert files["logo.png"].is_binary_file
    assert (files["plain.py"].added, files["plain.py"].removed) == (1, 1)


def test_patch_matcher_skips_heads_whose_objects_are_missing(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.commit("root", {"a.py": "a = 1\n"})
    history.branch("replayed")
    picked = history.commit("fix a", {"a.py": "a = 2\n"}, author="bob")
    history.branch("broken", "main")
    broken = history.commit("lost", {"a.py": "a = 3\n"}, author="dan")  # same file set
    history.checkout("main")
    history.commit("unrelated", {"b.py": "b = 1\n"})
    history.cherry_pick(picked)
    replayed_on_main = repo.head.commit.hexsha
    blob = repo.commit(broken).tree["a.py"].hexsha
    os.remove(Path(repo.git_dir) / "objects" / blob[:2] / blob[2:])  # as a partial mirror
    found = PatchMatcher(repo, "main").equivalents(sorted([picked, broken]))
    assert found[picked] == replayed_on_main
    assert broken not in found


def test_walk_leaves_competing_bases_off_the_first_parent_line_to_git(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.commit("root", {"a.py": "a = 1\n"})
    history.branch("one")
    shas = {"one-1": history.commit("first feature", {"one.py": "x = 1\n"}, author="bob")}
    history.branch("two", "one")  # built on #7's unmerged work
    history.commit("second feature", {"two.py": "y = 1\n"}, author="carol")
    history.checkout("main")
    history.merge("one", "Merge pull request #7 from bob/one")
    history.checkout("two")
    history.merge("main", "Merge branch 'main' into two")
    history.checkout("main")
    history.merge("two", "Merge pull request #8 from carol/two")
    graph = CommitGraph(repo.git_dir, "main", [])
    second = graph.mainline[0]
    assert graph.walk(second.parents[0], second.parents[1]) is None  # one-1 is met, off-line
    pulls = {p.number: p for p in find_merged_pulls(repo, "main")}
    assert pulls[8].base_commit == _merge_base(repo, *second.parents) == second.parents[0]
    assert shas["one-1"] != pulls[8].base_commit
