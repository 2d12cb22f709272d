"""The rendered Dockerfile: pip on Pythons uv does not serve, local paths kept out of the build."""

from __future__ import annotations

from datetime import UTC, datetime

from dockerfiles.builder import EnvSpec, render_dockerfile, requirement_texts
from pipeline.core.records import InstallConfig

FILES = {
    "setup.py": "from setuptools import setup\nsetup(name='x')\n",
    "requirements-dev.txt": "-e .[test]\n-e plugins/example-plugin\n./sub\nsix\nbad==9\n",
}


def spec(python: str, **fields: object) -> EnvSpec:
    config = InstallConfig.model_validate(
        {
            "python": python,
            "base_image": f"python:{python}-slim",
            "requirement_files": ["requirements-dev.txt"],
            "local_requirements": ["-e ./plugins/example-plugin", "./sub"],
            "extra_packages": ["pytest"],
            "exclude_newer": datetime(2019, 5, 1, tzinfo=UTC),
            **fields,
        }
    )
    return EnvSpec("o/x", "abc", config, "sha256:base", FILES)


def test_old_python_uses_pip_without_a_date_pin() -> None:
    text = render_dockerfile(spec("3.7"))
    assert "uv pip" not in text and "uv build" not in text
    assert "python -m pip install  -r taskforge-project-requirements.txt" in text
    assert "--exclude-newer" not in text
    assert '"pytest>=3.0"' in text


def test_uv_python_pins_the_date_and_names_local_requirements() -> None:
    text = render_dockerfile(spec("3.11"))
    assert "uv pip install --compile-bytecode --exclude-newer 2019-05-01T00:00:00Z" in text
    assert 'TASKFORGE_LOCAL_REQUIREMENTS="-e ./plugins/example-plugin ./sub"' in text
    assert "for path in ./plugins/example-plugin ./sub; do" in text


def test_the_build_gets_no_path_and_no_dropped_line() -> None:
    texts = requirement_texts(spec("3.11", dropped_requirements=["bad"]))
    assert texts == {"taskforge-requirements.txt": ["six"]}


def test_a_pinned_setuptools_is_not_upgraded_past() -> None:
    text = render_dockerfile(spec("3.11", extra_packages=["pytest", "setuptools<81"]))
    assert "--upgrade 'setuptools>=61' wheel 'setuptools<81' wheel" in text


def test_pytest_is_raised_to_the_oldest_release_that_runs_on_the_python() -> None:
    from dockerfiles.builder import EnvSpec, render_dockerfile
    from pipeline.core.records import InstallConfig

    spec = EnvSpec("o/n", "c", InstallConfig(python="3.9", base_image="b"), "id", {})
    rendered = render_dockerfile(spec)
    assert '--resolution lowest-direct "pytest>=6.2"' in rendered
