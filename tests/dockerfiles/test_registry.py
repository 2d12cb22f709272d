"""``--registry`` parsing: what Docker reads as a registry host, and the one-line refusals."""

from __future__ import annotations

import pytest

from dockerfiles.registry import Registry
from pipeline.core.errors import UserInputError


@pytest.mark.parametrize(
    ("text", "host", "namespace", "plain"),
    [
        ("127.0.0.1:5000/taskforge", "127.0.0.1:5000", "taskforge", True),
        ("localhost/team/tasks", "localhost", "team/tasks", True),
        ("registry.example.org/tf", "registry.example.org", "tf", False),
        ("10.0.0.7:443/a-b.c_d", "10.0.0.7:443", "a-b.c_d", False),
    ],
)
def test_registries_docker_reads_as_hosts(
    text: str, host: str, namespace: str, plain: bool
) -> None:
    registry = Registry.parse(text)
    assert (registry.host, registry.namespace, registry.plain_http) == (host, namespace, plain)
    assert (
        registry.name_for("taskforge-env/o__n:abc") == f"{host}/{namespace}/taskforge-env/o__n:abc"
    )


@pytest.mark.parametrize(
    "text", ["taskforge", "dockerhubuser/tf", "127.0.0.1:5000", "127.0.0.1:5000/Upper", "a b/c"]
)
def test_what_is_not_a_registry_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(UserInputError, match=r"expected HOST\[:PORT\]/NAMESPACE"):
        Registry.parse(text)


def test_a_registry_that_does_not_answer_is_named() -> None:
    with pytest.raises(UserInputError, match="does not answer"):
        Registry.parse("127.0.0.1:9/tf").answers()
