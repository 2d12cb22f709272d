"""Node's own test runner (``node --test``) as a ``scripts.test`` calls it.

Read by the recipe (the runner, and the Node it needs) and by the runs (the files and the
options): ``"test": "node --test"``, ``"c8 node --test"``, ``"NODE_ENV=test node --import tsx
--test test/"``. The command is the first of the script's commands that runs ``node`` with
``--test``; what it gives is its environment assignments, its options (with their values)
and its positional arguments (files, folders or globs).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
# node's options that take a value (the next word, unless written ``--option=value``)
VALUED = frozenset(
    {"--import", "--require", "-r", "--loader", "--experimental-loader", "--conditions", "-C"}
    | {"--test-reporter", "--test-reporter-destination", "--test-name-pattern", "--env-file"}
    | {"--test-skip-pattern", "--test-concurrency", "--test-timeout", "--test-shard"}
    | {"--test-coverage-include", "--test-coverage-exclude", "--watch-path", "--input-type"}
)
# options a run sets itself, or that would change what it reports
OWN = frozenset({"--test", "--watch", "--test-reporter", "--test-reporter-destination"})
OWN_PREFIXES = ("--experimental-test-coverage", "--test-coverage-", "--test-force-exit")
TYPESCRIPT = ("tsx", "ts-node", "--experimental-strip-types", "--experimental-transform-types")


@dataclass(frozen=True)
class NodeTestCommand:
    """The ``node --test`` of a script: environment, options and positional arguments."""

    environment: list[str] = field(default_factory=list)  # "NODE_ENV=test"
    options: list[str] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)

    @property
    def typescript(self) -> bool:
        """Whether the tests are TypeScript that a loader or node itself strips."""
        text = " ".join(self.options)
        return any(word in text for word in TYPESCRIPT)

    def run_options(self) -> list[str]:
        """The options a run passes on: the script's, without those the run sets itself."""
        kept, skip = [], False
        for word in self.options:
            name = word.split("=", 1)[0]
            if skip:
                skip = False
            elif name in OWN or name.startswith(OWN_PREFIXES):
                skip = word in VALUED
            else:
                kept.append(word)
        return kept


def node_test_command(script: str) -> NodeTestCommand | None:
    """The ``node --test`` command of ``script``, or None when it runs none."""
    try:
        words = shlex.split(script)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    for command in commands:
        names = [PurePosixPath(w).name for w in command]
        if "node" not in names:
            continue
        at = names.index("node")
        rest = command[at + 1 :]
        if "--test" not in rest:
            continue
        environment = [w for w in command[:at] if "=" in w and not w.startswith("-")]
        options, specs, skip = [], [], False
        for word in rest:
            if skip:
                options.append(word)
                skip = False
            elif word.startswith("-"):
                options.append(word)
                skip = word in VALUED
            else:
                specs.append(word)
        return NodeTestCommand(environment, options, specs)
    return None
