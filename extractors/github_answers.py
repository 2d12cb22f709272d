"""GitHub's answers checked at the edge: a missing or wrong-typed field is one line, not a KeyError.

Every answer that code reads field by field (GraphQL ``data``, REST payloads) is validated
into a pydantic model here, once. A field the request asked for that is absent, or of
another type, raises ``GithubAnswerError`` (a ``TerminalError``): its message names the
request and the field's path as GitHub spells it, e.g.::

    GitHub answered GraphQL request 'closingIssues(acme/widgets, 50 PRs)' without field
    repository.pr12.closingIssuesReferences

Callers decide what one bad node costs: a PR's malformed links cost that PR its GitHub links
(it falls back to closing keywords), a malformed issue is skipped, a malformed PR in a listing
is left out with one line; only an answer without its top-level field ends the run.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.core.errors import TerminalError

Model = TypeVar("Model", bound=BaseModel)


class GithubAnswerError(TerminalError):
    """GitHub's answer to one request lacks a field it should carry, or has it of a wrong type."""

    def __init__(self, request: str, field: str, problem: str) -> None:
        super().__init__(f"GitHub answered {request} {problem} {field}")
        self.request = request
        self.field = field


def parse(model: type[Model], payload: object, request: str, at: str = "") -> Model:
    """``payload`` validated as ``model``; ``at`` is where it sits in the answer (dotted)."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise answer_error(error, request, at) from None


def answer_error(error: ValidationError, request: str, at: str = "") -> GithubAnswerError:
    """The first problem of a validation error, as one line naming the field's path."""
    first = error.errors(include_url=False)[0]
    path = ".".join([at] * bool(at) + [str(part) for part in first["loc"]])
    if first["type"] == "missing":
        return GithubAnswerError(request, path, "without field")
    got = type(first.get("input")).__name__
    return GithubAnswerError(request, path, f"with a {got} ({first['msg'].lower()}) in field")


def child(container: dict[str, Any], key: str, request: str, at: str = "") -> Any:
    """``container[key]`` where GitHub must send ``key`` (its value may be null)."""
    if key not in container:
        raise GithubAnswerError(request, ".".join([at] * bool(at) + [key]), "without field")
    return container[key]


def mapping(value: object, request: str, at: str) -> dict[str, Any]:
    """``value`` where GitHub must send an object (``{}`` for null)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problem = f"with a {type(value).__name__} (an object expected) in field"
        raise GithubAnswerError(request, at or "the answer", problem)
    return value
