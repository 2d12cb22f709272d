"""Browsing a dataset: ``taskforge stats`` (figures per language and per repository),
``taskforge show`` (a task).

Both read only what they need: ``stats`` reads the columns of its figures, of screening and of
test strength (``STATS_COLUMNS``, ``SCREENING_COLUMNS``, ``STRENGTH_COLUMNS``) of every shard
(so it stays well under a second on 100,000 tasks), ``show`` reads the row groups whose
statistics can hold the instance id; both check every shard the manifest lists against its size
and sha256 first (``manifest.verify_shards``, one pass over the bytes). A shard that cannot be
trusted stops them with ``BadShardError`` naming it: one that cannot be read or is of another
schema version, or one that changed since it was listed. Figures from the other shards would
look whole and be wrong. The disagreements with the manifest that leave the rows right (an
unlisted shard, a listed one that is gone) are warnings of one line each. The card
(``card.finalize``) asks for ``skip_bad`` instead: it describes the shards that can be read,
and reports the others.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from pipeline.core.errors import UserInputError
from pipeline.core.languages import Language
from pipeline.core.records import OUTCOME_REASONS, LeakKind, Outcome, Task
from pipeline.dataset.manifest import check_manifest, verify_shards
from pipeline.dataset.shards import load_table
from pipeline.dataset.storage import DatasetLayout

STATS_COLUMNS = ["instance_id", "repo", "language", "outcome", "FAIL_TO_PASS"]
SCREENING_COLUMNS = ["leaks", "similar_to", "benchmark_match"]  # with STATS_COLUMNS' outcome
STRENGTH_COLUMNS = ["strength", "uncovered_hunks", "strength_seconds"]  # and the outcome
# test strength of verified tasks: None is "not measured" (or nothing could be tried)
STRENGTH_BUCKETS = ["0", "(0, 0.5)", "[0.5, 1)", "1"]
NOT_MEASURED = "not measured"
# FAIL_TO_PASS sizes of verified tasks, as (label, lowest, highest) with None for "no limit"
SIZE_BUCKETS: list[tuple[str, int, int | None]] = [
    ("1", 1, 1),
    ("2-5", 2, 5),
    ("6-20", 6, 20),
    ("21+", 21, None),
]
TOP_REASONS = 3  # rejection reasons shown per language, the most frequent


@dataclass(frozen=True)
class RepoStats:
    """One repository's counts in a dataset."""

    repo: str
    verified: int
    rejected: dict[str, int]  # outcome -> candidates, most frequent first
    fail_to_pass_sizes: dict[str, int]  # SIZE_BUCKETS label -> verified tasks
    fail_to_pass_median: float
    fail_to_pass_max: int

    @property
    def rejected_total(self) -> int:
        """Rejected candidates of every outcome."""
        return sum(self.rejected.values())


@dataclass(frozen=True)
class LanguageStats:
    """One language's counts in a dataset (``Task.language``)."""

    language: str  # a ``Language`` value, as the shards hold it
    verified: int
    rejected: dict[str, int]  # outcome -> candidates, most frequent first
    fail_to_pass_median: float  # over the verified tasks; 0.0 without one

    @property
    def rejected_total(self) -> int:
        """Rejected candidates of every outcome."""
        return sum(self.rejected.values())

    @property
    def verified_share(self) -> float:
        """Verified tasks among all of the language's candidates."""
        return self.verified / ((self.verified + self.rejected_total) or 1)

    def top_reasons(self) -> str:
        """The ``TOP_REASONS`` most frequent rejection reasons with their counts, as
        ``timeout (2), docs_only (1)``; "" without a rejected candidate."""
        top = list(self.rejected.items())[:TOP_REASONS]
        return ", ".join(f"{reason} ({count})" for reason, count in top)


@dataclass(frozen=True)
class ScreeningStats:
    """What screening found (``pipeline.backfill.screening``): leaks, similar statements and
    benchmark instances among the verified tasks, and the candidates it rejected."""

    leaks: dict[str, int] = field(default_factory=dict)  # LeakKind value -> verified tasks
    leaky: int = 0  # verified tasks with a leak of any kind
    similar: int = 0  # verified tasks whose statement is near-identical to an earlier one's
    benchmark_flagged: int = 0  # verified tasks that are the same as a benchmark instance
    duplicates: int = 0  # rejected as the same patch as a verified task written before
    benchmark_dropped: int = 0  # rejected as a benchmark instance

    def rows(self) -> list[tuple[str, int]]:
        """(what, count) in the order stats and the card print them."""
        return [
            ("verified tasks whose statement or hints leak the fix", self.leaky),
            *[(f"  leaking {kind}", self.leaks.get(kind.value, 0)) for kind in LeakKind],
            ("verified tasks with a near-identical statement (similar_to)", self.similar),
            ("verified tasks that are benchmark instances (flagged)", self.benchmark_flagged),
            ("duplicates rejected (duplicate_of)", self.duplicates),
            ("benchmark instances dropped", self.benchmark_dropped),
        ]


@dataclass(frozen=True)
class StrengthStats:
    """The test strength of the verified tasks (``validators.strength``): how many wrong
    patches their FAIL_TO_PASS caught, in buckets, and what the check cost."""

    buckets: dict[str, int] = field(default_factory=dict)  # label -> verified tasks
    uncovered: int = 0  # verified tasks with a hunk whose omission FAIL_TO_PASS missed
    weak_rejected: int = 0  # rejected as weak_tests (--min-strength)
    seconds_median: float = 0.0  # strength_seconds over the measured verified tasks

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) in the order stats and the card print them."""
        labels = [NOT_MEASURED, *STRENGTH_BUCKETS]
        return [
            *[(f"strength {label}", str(self.buckets.get(label, 0))) for label in labels],
            ("verified tasks with uncovered hunks", str(self.uncovered)),
            ("rejected as weak_tests (--min-strength)", str(self.weak_rejected)),
            ("check's wall time per measured task, median", f"{self.seconds_median:g} s"),
        ]


def strength_bucket(strength: float | None) -> str:
    """The ``STRENGTH_BUCKETS`` label of a task's strength, ``NOT_MEASURED`` for None."""
    if strength is None:
        return NOT_MEASURED
    if strength <= 0.0:
        return "0"
    if strength < 0.5:
        return "(0, 0.5)"
    return "[0.5, 1)" if strength < 1.0 else "1"


@dataclass
class DatasetStats:
    """A dataset's counts per repository and per language, and its shards."""

    repos: list[RepoStats]
    shards: int
    size_bytes: int
    languages: list[LanguageStats] = field(default_factory=list)
    screening: ScreeningStats = field(default_factory=ScreeningStats)
    strength: StrengthStats = field(default_factory=StrengthStats)
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> int:
        """Verified tasks over every repository."""
        return sum(r.verified for r in self.repos)

    @property
    def rejected(self) -> int:
        """Rejected candidates over every repository."""
        return sum(r.rejected_total for r in self.repos)


def dataset_stats(layout: DatasetLayout, *, skip_bad: bool = False) -> DatasetStats:
    """Figures per repository and per language for the newest row of every task.

    A shard that cannot be trusted raises ``BadShardError``; with ``skip_bad`` an unreadable one
    is skipped, only sizes are compared with the manifest, and both are reported as warnings.
    """
    layout.require()
    notes = check_manifest(layout).problems if skip_bad else verify_shards(layout)
    columns = STATS_COLUMNS + SCREENING_COLUMNS + STRENGTH_COLUMNS
    loaded = load_table(layout, columns, skip_bad=skip_bad)
    table = loaded.table
    frame = pl.DataFrame(
        {
            "repo": table.column("repo"),
            "language": table.column("language"),
            "outcome": pc.fill_null(table.column("outcome"), "undecided"),
            "size": pc.list_value_length(table.column("FAIL_TO_PASS")),
        }
    )
    shards = layout.shards()
    return DatasetStats(
        repos=_repo_stats(frame),
        shards=len(shards),
        size_bytes=sum(s.stat().st_size for s in shards),
        languages=_language_stats(frame),
        screening=screening_stats(table),
        strength=strength_stats(table),
        warnings=[str(error) for error in loaded.skipped] + notes,
    )


def screening_stats(table: pa.Table) -> ScreeningStats:
    """The screening figures of a table with ``outcome`` and ``SCREENING_COLUMNS`` (newest
    rows)."""
    outcomes = pc.fill_null(table.column("outcome"), "").to_pylist()
    verified = [o == Outcome.VERIFIED.value for o in outcomes]
    leaks: dict[str, int] = {}
    leaky = 0
    for row_leaks, kept in zip(table.column("leaks").to_pylist(), verified, strict=True):
        kinds = {leak["kind"] for leak in row_leaks or []}
        if kept and kinds:
            leaky += 1
            for kind in kinds:
                leaks[kind] = leaks.get(kind, 0) + 1
    similar = table.column("similar_to").to_pylist()
    matches = table.column("benchmark_match").is_valid().to_pylist()
    return ScreeningStats(
        leaks=leaks,
        leaky=leaky,
        similar=sum(1 for s, v in zip(similar, verified, strict=True) if s and v),
        benchmark_flagged=sum(1 for m, v in zip(matches, verified, strict=True) if m and v),
        duplicates=outcomes.count(Outcome.DUPLICATE.value),
        benchmark_dropped=outcomes.count(Outcome.IN_BENCHMARK.value),
    )


def strength_stats(table: pa.Table) -> StrengthStats:
    """The strength figures of a table with ``outcome`` and ``STRENGTH_COLUMNS`` (newest rows)."""
    outcomes = pc.fill_null(table.column("outcome"), "").to_pylist()
    rows = zip(
        outcomes,
        table.column("strength").to_pylist(),
        table.column("uncovered_hunks").to_pylist(),
        table.column("strength_seconds").to_pylist(),
        strict=True,
    )
    buckets: dict[str, int] = {}
    uncovered, seconds = 0, []
    for outcome, strength, hunks, spent in rows:
        if outcome != Outcome.VERIFIED.value:
            continue
        label = strength_bucket(strength)
        buckets[label] = buckets.get(label, 0) + 1
        uncovered += bool(hunks)
        if strength is not None:
            seconds.append(spent)
    median = sorted(seconds)[len(seconds) // 2] if seconds else 0.0
    return StrengthStats(
        buckets=buckets,
        uncovered=uncovered,
        weak_rejected=outcomes.count(Outcome.WEAK_TESTS.value),
        seconds_median=round(median, 1),
    )


def _repo_stats(frame: pl.DataFrame) -> list[RepoStats]:
    """One ``RepoStats`` per repository of a frame of (repo, outcome, size), sorted by repo."""
    is_verified = pl.col("outcome") == Outcome.VERIFIED.value
    size = pl.col("size")
    buckets = [
        (size >= low if high is None else size.is_between(low, high)).sum().alias(label)
        for label, low, high in SIZE_BUCKETS
    ]
    figures = [pl.len().alias("tasks"), size.median().alias("median"), size.max().alias("max")]
    verified = {
        row["repo"]: row
        for row in frame.filter(is_verified).group_by("repo").agg(*figures, *buckets).to_dicts()
    }
    rejected = _rejected_by(frame, "repo")
    repos = []
    for repo in sorted(set(verified) | set(rejected)):
        counts = verified.get(repo, {})
        repos.append(
            RepoStats(
                repo=repo,
                verified=counts.get("tasks", 0),
                rejected=rejected.get(repo, {}),
                fail_to_pass_sizes={label: counts.get(label, 0) for label, _, _ in SIZE_BUCKETS},
                fail_to_pass_median=float(counts.get("median", 0.0)),
                fail_to_pass_max=counts.get("max", 0),
            )
        )
    return repos


def _language_stats(frame: pl.DataFrame) -> list[LanguageStats]:
    """One ``LanguageStats`` per language of a frame of (language, outcome, size), in the
    order of ``Language`` (Python first); a value this taskforge does not know comes last."""
    is_verified = pl.col("outcome") == Outcome.VERIFIED.value
    figures = [pl.len().alias("tasks"), pl.col("size").median().alias("median")]
    verified = {
        row["language"]: row
        for row in frame.filter(is_verified).group_by("language").agg(*figures).to_dicts()
    }
    rejected = _rejected_by(frame, "language")
    order = {language.value: index for index, language in enumerate(Language)}
    languages = sorted(set(verified) | set(rejected), key=lambda v: (order.get(v, len(order)), v))
    return [
        LanguageStats(
            language=language,
            verified=verified.get(language, {}).get("tasks", 0),
            rejected=rejected.get(language, {}),
            fail_to_pass_median=float(verified.get(language, {}).get("median", 0.0)),
        )
        for language in languages
    ]


def _rejected_by(frame: pl.DataFrame, key: str) -> dict[str, dict[str, int]]:
    """Rejected candidates per ``key`` value and outcome, most frequent outcome first."""
    rejected: dict[str, dict[str, int]] = {}
    counts = frame.filter(pl.col("outcome") != Outcome.VERIFIED.value).group_by(key, "outcome")
    for row in counts.len().sort(["len", "outcome"], descending=[True, False]).to_dicts():
        rejected.setdefault(row[key], {})[row["outcome"]] = row["len"]
    return rejected


def render_stats(stats: DatasetStats, layout: DatasetLayout, out: Console) -> None:
    """Print ``stats`` of the dataset at ``layout`` (``taskforge stats``)."""
    repos = "1 repository" if len(stats.repos) == 1 else f"{len(stats.repos)} repositories"
    out.print(
        f"{layout.root}: {repos}, {stats.verified} verified, {stats.rejected} rejected "
        f"({stats.shards} shards, {stats.size_bytes / 1e6:.1f} MB)",
        highlight=False,
    )
    if not stats.repos:
        out.print("no tasks yet")
        return
    out.print(_languages_table(stats.languages))
    out.print(_yield_table(stats.repos))
    if stats.rejected:
        out.print(_rejected_table(stats.repos))
    if stats.verified:
        out.print(_sizes_table(stats.repos))
    out.print(_screening_table(stats.screening))
    out.print(_strength_table(stats.strength))


def _strength_table(strength: StrengthStats) -> Table:
    title = "test strength: wrong patches caught ÷ tried"
    table = Table(title=title, title_justify="left")
    table.add_column("found")
    table.add_column("tasks", justify="right")
    for what, value in strength.rows():
        table.add_row(what, value)
    return table


def _screening_table(screening: ScreeningStats) -> Table:
    table = Table(title="screening: leaks, duplicates, benchmark", title_justify="left")
    table.add_column("found")
    table.add_column("tasks", justify="right")
    for what, count in screening.rows():
        table.add_row(what, str(count))
    return table


def _languages_table(languages: list[LanguageStats]) -> Table:
    table = Table(title="tasks per language", title_justify="left")
    table.add_column("language")
    for name in ("verified", "rejected", "verified share", "FAIL_TO_PASS median"):
        table.add_column(name, justify="right")
    table.add_column("top rejections")
    for figures in languages:
        median = f"{figures.fail_to_pass_median:g}" if figures.verified else "-"
        table.add_row(
            figures.language,
            str(figures.verified),
            str(figures.rejected_total),
            f"{figures.verified_share:.0%}",
            median,
            figures.top_reasons() or "-",
        )
    return table


def _yield_table(repos: list[RepoStats]) -> Table:
    table = Table(title="tasks per repository", title_justify="left")
    for name in ("repository", "verified", "rejected", "verified share"):
        table.add_column(name, justify="left" if name == "repository" else "right")
    for r in repos:
        total = r.verified + r.rejected_total
        table.add_row(r.repo, str(r.verified), str(r.rejected_total), f"{r.verified / total:.0%}")
    return table


def _rejected_table(repos: list[RepoStats]) -> Table:
    table = Table(title="rejected by reason", title_justify="left")
    table.add_column("repository")
    table.add_column("reason")
    table.add_column("candidates", justify="right")
    for r in repos:
        for reason, count in r.rejected.items():
            known = reason in Outcome.__members__.values()
            why = f" ({OUTCOME_REASONS[Outcome(reason)]})" if known else ""
            table.add_row(r.repo, f"{reason}{why}", str(count))
    return table


def _sizes_table(repos: list[RepoStats]) -> Table:
    table = Table(title="FAIL_TO_PASS tests per verified task", title_justify="left")
    table.add_column("repository")
    for label, _, _ in SIZE_BUCKETS:
        table.add_column(label, justify="right")
    table.add_column("median", justify="right")
    table.add_column("max", justify="right")
    for r in repos:
        counts = [str(r.fail_to_pass_sizes[label]) for label, _, _ in SIZE_BUCKETS]
        table.add_row(r.repo, *counts, f"{r.fail_to_pass_median:g}", str(r.fail_to_pass_max))
    return table


def find_task(layout: DatasetLayout, instance_id: str) -> tuple[Task, list[str]]:
    """The newest row of ``instance_id``, and the manifest's warnings; a shard that cannot be
    trusted raises ``BadShardError``."""
    layout.require()
    warnings = verify_shards(layout)
    loaded = load_table(layout, filters=[("instance_id", "=", instance_id)])
    if loaded.table.num_rows == 0:
        ids = load_table(layout, ["instance_id"]).table.column("instance_id")
        close = difflib.get_close_matches(instance_id, ids.to_pylist(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UserInputError(f"no task {instance_id} in {layout.root}{hint}")
    return Task.model_validate(loaded.table.to_pylist()[-1]), warnings


def render_task(task: Task, out: Console) -> None:
    """Print one task's fields (``taskforge show``)."""
    colour = "green" if task.verified else "yellow"
    outcome = task.outcome.value if task.outcome else "undecided"
    out.rule(f"[bold]{task.instance_id}[/] [{colour}]{outcome}[/]")
    out.print(_facts(task))
    statement = Text(visible(task.problem_statement))
    out.print(Panel(statement, title="problem statement", title_align="left"))
    for title, patch in (("patch", task.patch), ("test_patch", task.test_patch)):
        out.print(Panel(_diff(patch), title=title, title_align="left"))
    out.print(_tests(task))


def _facts(task: Task) -> Table:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = {
        "repository": task.repo,
        "pull request": task.pr_url or f"#{task.pull_number}",
        "base commit": task.base_commit,
        "fix commit": task.fix_commit,
        "created at": task.created_at.isoformat(),
        "merge": task.merge_kind.value,
        "image": task.image.tag if task.image else "",
        "python": task.install_config.python if task.install_config else "",
        "license": task.license,
        "outcome detail": task.outcome_detail,
        "leaks": "; ".join(f"{leak.kind} in {leak.field}: {leak.excerpt}" for leak in task.leaks),
        "strength": _strength_fact(task),
        "uncovered hunks": "; ".join(task.uncovered_hunks),
        "duplicate of": task.duplicate_of,
        "similar to": task.similar_to,
        "benchmark": (
            f"{task.benchmark_match.instance_id} ({task.benchmark_match.by})"
            if task.benchmark_match
            else ""
        ),
    }
    for name, value in rows.items():
        if value:
            facts.add_row(name, Text(visible(value)))
    return facts


def _strength_fact(task: Task) -> str:
    if task.strength is None:
        return ""
    return (
        f"{task.strength:.2f} (FAIL_TO_PASS caught {task.strength_caught} of "
        f"{task.strength_tried} wrong patches, {task.strength_seconds:g} s)"
    )


def _diff(patch: str) -> RenderableType:
    if not patch:
        return Text("(empty)", style="dim")
    return Syntax(visible(patch.removesuffix("\n")), "diff", theme="ansi_dark", word_wrap=True)


# C0 controls but newline and tab, and DEL, as their Unicode pictures (U+2400...): a patch's
# ESC would otherwise reach the terminal as an escape sequence, and CR would hide its line.
CONTROL_PICTURES = {code: 0x2400 + code for code in range(0x20) if chr(code) not in "\n\t"}
CONTROL_PICTURES[0x7F] = 0x2421


def visible(text: str) -> str:
    """``text`` with control characters shown as symbols, safe to print to a terminal."""
    return text.translate(CONTROL_PICTURES)


def _tests(task: Task) -> Group:
    lists = {
        "FAIL_TO_PASS": task.FAIL_TO_PASS,
        "PASS_TO_PASS": task.PASS_TO_PASS,
        "PASS_TO_FAIL": task.PASS_TO_FAIL,
        "flaky": [f"{f.test} (flake rate {f.flake_rate:.0%})" for f in task.flaky_tests],
    }
    parts: list[RenderableType] = []
    for name, tests in lists.items():
        if tests or name in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            parts.append(Text(f"{name} ({len(tests)})", style="bold"))
            parts.extend(Text(f"  {visible(test)}") for test in tests)
    return Group(*parts)
