import pytest

from pipeline.core.paths import FileKind, classify_path, is_test_module


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("tests/test_core.py", FileKind.TEST),
        ("src/pkg/tests/data/input.json", FileKind.TEST),
        ("testing/helpers.py", FileKind.TEST),
        ("pkg/test_utils.py", FileKind.TEST),
        ("pkg/utils_test.py", FileKind.TEST),
        ("conftest.py", FileKind.TEST),
        ("src/pytest_helpers.py", FileKind.SOURCE),  # "test" in a name decides nothing
        ("src/attestation.py", FileKind.SOURCE),
        ("src/latest/module.py", FileKind.SOURCE),
        ("src/contest.py", FileKind.SOURCE),
        ("pyproject.toml", FileKind.SOURCE),
        ("docs/index.rst", FileKind.DOCS),
        ("CHANGES.rst", FileKind.DOCS),
        ("CHANGELOG.md", FileKind.DOCS),
        ("changelog.d/1234.bugfix.rst", FileKind.DOCS),
        ("README", FileKind.DOCS),
        (".github/workflows/tests.yaml", FileKind.CI),
        (".pre-commit-config.yaml", FileKind.CI),
    ],
)
def test_classify_path(path: str, kind: FileKind) -> None:
    assert classify_path(path) is kind


def test_test_module_names() -> None:
    assert is_test_module("tests/test_x.py")
    assert is_test_module("pkg/x_test.py")
    assert not is_test_module("tests/conftest.py")
    assert not is_test_module("tests/data/test_input.txt")
