"""The exception hierarchy of taskforge, drawn once; every class raised anywhere is in it.

    TaskforgeError                 base; its message is one line a user can act on
    ├── UserInputError             bad input (CLI exit 2)
    │   │                          raised when a path, option, PR list, token or schedules/
    │   │                          overrides file cannot be used as given, before work starts
    │   └── UnknownObject          raised when GitHub answers 404 for what was asked
    │                              (extractors.github_api)
    ├── TerminalError              this object cannot be processed; record it and move on
    │   │                          (CLI exit 5 when it ends a command)
    │   ├── ImageBuildError        raised when an image build fails (names the build log)
    │   │   └── EnvBuildFailed     raised when an environment build fails; carries the
    │   │                          resolver's own line (dockerfiles.builder)
    │   ├── EnvironmentFailed      raised when every attempt of a dependency state's fallback
    │   │                          chain failed; carries the attempts (dockerfiles.environment)
    │   ├── BadShardError          raised when a dataset file is unreadable or of another
    │   │                          schema (names the file)
    │   ├── MissingObjectError     raised when the repository lacks a git object a tree needs
    │   │                          (names both; pipeline.core.git_trees)
    │   ├── UnwritableTaskError    raised when a task holds a value Parquet cannot store
    │   │                          (names the task and the field)
    │   ├── GithubAnswerError      raised when GitHub's answer lacks a field or has it of a
    │   │                          wrong type (extractors.github_answers)
    │   ├── PatchDoesNotApply      raised when a test patch, fix or model patch does not apply
    │   │                          at the base commit (validators.states)
    │   ├── RunStopped             raised inside a validation when a run times out or is
    │   │                          killed for memory; becomes the verdict (validators.validate)
    │   └── TreeTooLarge           raised when an agent's /repo is larger than an RL
    │                              environment copies out (pipeline.consumers.rollouts)
    └── TransientError             the infrastructure failed; retry, never record as rejected
        │                          (CLI exit 3)
        ├── DockerUnavailable      raised when the Docker engine does not answer
        │                          (pipeline.core.engine)
        ├── ImageUnavailable       raised when a task's image is not in this engine and cannot
        │                          be pulled by digest (pipeline.core.images)
        └── InfrastructureError    raised when the engine, the disk or the runtime fails during
                                   a run, by the signature table of validators.infra

Retries key on the split: only ``TransientError`` is retried. The CLI prints the message of
any ``TaskforgeError`` as a single line and exits with its branch's code (``exit_code``), never
a traceback; exit 4 (a partial result: some listed PRs not found, the rest written) is not an
exception. Classes defined in a stage's module subclass a branch here, so the stage needs no
import beyond the core.
"""

from __future__ import annotations

from typing import Any


class TaskforgeError(Exception):
    """Base class; ``str(error)`` is a single line that says what to do.

    Every error pickles whole, whatever its constructor takes (``__reduce__``), so one raised
    on a Dask worker reaches the flow as the same class with the same message and fields.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(kind: type[TaskforgeError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error of ``kind`` with ``args`` and attributes ``state``, its constructor not run."""
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class UserInputError(TaskforgeError):
    """The user's input cannot be used as given."""


class TerminalError(TaskforgeError):
    """Processing this object cannot succeed by retrying."""


EXIT_INPUT = 2
EXIT_INFRASTRUCTURE = 3
EXIT_PARTIAL = 4  # not an exception: some listed PRs not found, the others done
EXIT_TERMINAL = 5


def exit_code(error: TaskforgeError) -> int:
    """The CLI's exit code for ``error``'s branch of the tree."""
    if isinstance(error, UserInputError):
        return EXIT_INPUT
    if isinstance(error, TransientError):
        return EXIT_INFRASTRUCTURE
    return EXIT_TERMINAL


class ImageBuildError(TerminalError):
    """An image failed to build; the message names its log."""

    def __init__(self, image: str, reason: str, log_path: str) -> None:
        super().__init__(f"building image {image} failed: {reason} (see {log_path})")
        self.image = image
        self.log_path = log_path


class BadShardError(TerminalError):
    """A shard (or the manifest) cannot be read as this version of taskforge writes it."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path  # a local path, or a file behind a URL (printed as its URL)
        self.reason = reason


class MissingObjectError(TerminalError):
    """A commit's tree cannot be read: the repository lacks one of its objects."""

    def __init__(self, repo: str, commit: str, path: str, object_id: str, reason: str) -> None:
        what = f"{path} (object {object_id[:12]})" if path else f"object {object_id[:12]}"
        what = what if object_id else "an object"
        super().__init__(
            f"{repo} lacks {what} at commit {commit[:12]}: {reason}; fetch the missing "
            "objects (or use a full clone) and rerun"
        )
        self.commit = commit
        self.path = path
        self.object_id = object_id


class UnwritableTaskError(TerminalError):
    """A task holds a value Parquet cannot store; nothing of its batch was written."""


class TransientError(TaskforgeError):
    """The infrastructure failed; the same work may succeed later."""


class DockerUnavailable(TransientError):
    """The Docker engine does not answer."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Docker is not reachable ({detail}); start the engine "
            "(on Debian as root: bash .ci/docker-engine.sh) or set DOCKER_HOST"
        )
