"""The exception hierarchy of taskforge.

    TaskforgeError                 base; its message is one line a user can act on
    ├── UserInputError             bad input: wrong path, unknown PR, output folder is a file
    ├── TerminalError              this object cannot be processed; record it and move on
    │   ├── ImageBuildError        the environment image failed to build (names the log)
    │   ├── BadShardError          a dataset file is unreadable or of another schema (names it)
    │   ├── MissingObjectError     the repository lacks a git object a tree needs (names both)
    │   └── UnwritableTaskError    a task cannot be stored as given (names the task and field)
    └── TransientError             the infrastructure failed; retry, never record as rejected
        └── DockerUnavailable      the Docker engine does not answer

Retries key on the split: only ``TransientError`` is retried. The CLI prints the message of
any ``TaskforgeError`` as a single line and exits non-zero, never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class TaskforgeError(Exception):
    """Base class; ``str(error)`` is a single line that says what to do."""


class UserInputError(TaskforgeError):
    """The user's input cannot be used as given."""


class TerminalError(TaskforgeError):
    """Processing this object cannot succeed by retrying."""


class ImageBuildError(TerminalError):
    def __init__(self, image: str, reason: str, log_path: str) -> None:
        super().__init__(f"building image {image} failed: {reason} (see {log_path})")
        self.image = image
        self.log_path = log_path


class BadShardError(TerminalError):
    """A shard (or the manifest) cannot be read as this version of taskforge writes it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
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
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Docker is not reachable ({detail}); start the engine "
            "(on Debian as root: bash .ci/docker-engine.sh) or set DOCKER_HOST"
        )
