"""Print the latest benchmark figures as a table; the JSON file's path is the last line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.conftest import RESULTS

# figure -> (what it measures, target, True when lower is better)
TARGETS: dict[str, tuple[str, float | None, bool]] = {
    "validation_overhead_sample": ("pipeline ÷ raw test commands, sample", 1.3, True),
    **{
        f"validation_overhead_{language}": (f"pipeline ÷ raw test commands, {language}", 1.3, True)
        for language in ("go", "java", "javascript", "rust")
    },
    "validation_overhead_real": ("pipeline ÷ raw test commands, real repository", 1.3, True),
    "strength_overhead_sample": (
        "strength check ÷ validation, per verified task, sample",
        None,
        True,
    ),
    "strength_overhead_shapes": ("strength check ÷ validation, strength repository", None, True),
    "images_per_fingerprint": ("images built ÷ distinct dependency fingerprints", 1.0, True),
    "image_mb_per_verified_task": ("image MB per verified task", 15.0, True),
    "rerun_ratio": ("second identical backfill ÷ first (wall time)", 0.05, True),
    "rerun_images_built": ("images built by the rerun", 0, True),
    "rerun_containers_created": ("containers (test runs, build steps) of the rerun", 0, True),
    "nothing_new_ratio": ("rerun with nothing new ÷ first backfill, sample", 0.05, True),
    "nothing_new_containers_created": ("test containers of the nothing-new reruns", 0, True),
    "mining_ratio": ("whole-ancestry mining ÷ git log -p", 2.0, True),
    "mining_ratio_with_pull_refs": ("the same, mining the refs/pull/* as well", None, True),
    "mining_first_parent_ratio": ("first-parent mining ÷ git log --first-parent -p", 2.0, True),
    "dataset_stats_s": ("stats over 100,000 tasks, seconds", 1.0, True),
    "dataset_write_s": ("writing 100,000 tasks, seconds", None, True),
    "dataset_mb": ("100,000 tasks on disk, MB", None, True),
    "throughput_two_engines_ratio": ("throughput, two worker engines ÷ one", None, False),
    "registry_pull_s_per_task": ("registry pull by digest, seconds per validated task", None, True),
    "registry_pull_s_per_image": ("registry pull by digest, seconds per image (cold)", None, True),
    "shard_write_local_ms": ("writing a shard of 250 tasks to a folder, ms", None, True),
    "shard_write_s3_ms": ("writing a shard of 250 tasks to S3 (moto), ms", None, True),
    "shard_write_s3_ratio": ("S3 ÷ folder, per shard written", None, True),
    "verified_per_hour_sample": ("verified tasks per hour, sample", None, False),
    "verified_per_hour_real": ("verified tasks per hour, real repository", None, False),
}


def verdict(value: float, target: float | None, lower_is_better: bool) -> str:
    if target is None:
        return ""
    met = value <= target if lower_is_better else value >= target
    return "meets" if met else "MISSES"


def main() -> None:
    path = Path((RESULTS / "latest").read_text().strip())
    document = json.loads(path.read_text())
    box = document["machine"]
    print(
        f"taskforge benchmarks, {document['date']}, {box['cores']} cores, "
        f"{box['memory_gib']} GiB, {box['platform']}"
    )
    print(f"{'figure':<52} {'value':>12} {'target':>8}")
    for name, value in document["figures"].items():
        what, target, lower = TARGETS.get(name, (name, None, True))
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        goal = "" if target is None else (f"≤ {target:g}" if lower else f"≥ {target:g}")
        mark = verdict(float(value), target, lower) if isinstance(value, (int, float)) else ""
        print(f"{what:<52} {shown:>12} {goal:>8} {mark}")
    print(path)


if __name__ == "__main__":
    main()
