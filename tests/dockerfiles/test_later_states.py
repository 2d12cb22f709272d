"""The dependency states a group's fixes lead to: the setup commit's files, patched by git."""

from __future__ import annotations

import dataclasses

from dockerfiles.builder import EnvSpec, render_dockerfile
from dockerfiles.later_states import MAX_LATER, files_after, with_later_states
from dockerfiles.plan import EnvPlan
from pipeline.core.languages import Language
from pipeline.core.records import InstallConfig, Toolchain, ToolchainSource
from tests.pipeline.factories import make_task

CARGO = '[package]\nname = "calc"\nversion = "0.1.0"\n\n[dependencies]\n'
ADD_ITOA = (
    "diff --git a/Cargo.toml b/Cargo.toml\n--- a/Cargo.toml\n+++ b/Cargo.toml\n"
    '@@ -3,3 +3,4 @@ name = "calc"\n version = "0.1.0"\n \n [dependencies]\n+itoa = "1"\n'
    "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n"
    "@@ -1 +1 @@\n-pub fn f() {}\n+pub fn f() { itoa::Buffer::new(); }\n"
)
NEW_LOCK = (
    "diff --git a/Cargo.lock b/Cargo.lock\nnew file mode 100644\n--- /dev/null\n"
    "+++ b/Cargo.lock\n@@ -0,0 +1 @@\n+version = 3\n"
)
SOURCE_ONLY = (
    "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n"
    "@@ -1 +1 @@\n-pub fn f() {}\n+pub fn f() { 1; }\n"
)
NAMES = ("Cargo.toml", "Cargo.lock")


def rust_plan() -> EnvPlan:
    tool = Toolchain(language=Language.RUST, version="1.85", source=ToolchainSource.DEBIAN)
    config = InstallConfig(python="", base_image="b", language=Language.RUST, toolchain=tool)
    return EnvPlan("o/calc", "c" * 40, {"Cargo.toml": CARGO}, [config], "key")


def test_a_fix_that_adds_a_dependency_gives_the_patched_manifest_only() -> None:
    # src/lib.rs is not a dependency file, and is not in the setup commit's files either:
    # --include keeps git apply to the dependency files
    task = make_task(1, patch=ADD_ITOA, test_patch=NEW_LOCK)
    assert files_after({"Cargo.toml": CARGO}, task, NAMES) == {
        "Cargo.toml": CARGO + 'itoa = "1"\n',
        "Cargo.lock": "version = 3\n",
    }


def test_patches_that_change_no_dependency_file_give_no_state() -> None:
    task = make_task(1, patch=SOURCE_ONLY, test_patch="")
    assert files_after({"Cargo.toml": CARGO}, task, NAMES) is None


def test_a_patch_that_does_not_apply_to_the_setup_commit_gives_no_state() -> None:
    task = make_task(1, patch=ADD_ITOA, test_patch="")
    assert files_after({"Cargo.toml": "[package]\nname = 'other'\n"}, task, NAMES) is None


def test_a_group_gets_each_distinct_later_state_once_and_python_none() -> None:
    plan = rust_plan()
    tasks = [make_task(n, patch=ADD_ITOA, test_patch="") for n in (1, 2)]
    tasks.append(make_task(3, patch=SOURCE_ONLY, test_patch=""))
    later = with_later_states(plan, tasks).later
    assert later == [{"Cargo.toml": CARGO + 'itoa = "1"\n'}]
    python = dataclasses.replace(plan, attempts=[InstallConfig(python="3.11", base_image="b")])
    assert with_later_states(python, tasks).later == []
    many = [
        make_task(n, patch=ADD_ITOA.replace('itoa = "1"', f'itoa = "1.0.{n}"'), test_patch="")
        for n in range(MAX_LATER + 2)
    ]
    assert len(with_later_states(plan, many).later) == MAX_LATER


def test_the_image_resolves_later_states_after_the_setup_commit_s_and_js_none() -> None:
    config = rust_plan().attempts[0]
    later = [{"Cargo.toml": CARGO + 'itoa = "1"\n'}]
    without = EnvSpec("o/calc", "c", config, "id", {"Cargo.toml": CARGO})
    with_later = dataclasses.replace(without, later_files=later)
    text = render_dockerfile(with_later)
    assert "COPY later/ /tmp/later/" not in render_dockerfile(without)
    assert text.index("cargo fetch") < text.index("COPY later/ /tmp/later/")
    assert "for d in /tmp/later/*/" in text and with_later.fingerprint != without.fingerprint
    node = Toolchain(
        language=Language.JAVASCRIPT, version="20", source=ToolchainSource.NPM_REGISTRY
    )
    js = config.revised(language=Language.JAVASCRIPT, toolchain=node)
    assert "/tmp/later" not in render_dockerfile(dataclasses.replace(with_later, config=js))
