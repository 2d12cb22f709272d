"""Real services the portability tests need, started on this machine from Debian and PyPI.

- a container registry: Debian's ``docker-registry`` (the CNCF distribution server, installed
  by ``.ci/docker-engine.sh``), on a free loopback port with its own storage folder; Docker
  talks plain HTTP to loopback registries, so no certificate is involved;
- a second Docker engine with its own data root, exec root, socket and bridge, which has
  never built or pulled anything: what another machine's engine is;
- SWE-bench's harness, the PyPI release, in a virtualenv of its own (its dependencies are not
  taskforge's), made once per machine under ``data/cache/tools``;
- an S3-compatible object store: moto's server mode (``moto[server]`` from PyPI, in the dev
  extra) on a free loopback port, so datasets on ``s3://`` are written and read over real
  HTTP, as against S3 or MinIO. With ``authenticate`` it checks signatures: every access key is
  unknown to it, so every request is refused (403), as S3 refuses bad credentials.

Each starter waits until its service answers and stops it (and removes what it made) when the
``with`` block ends; a service that does not come up fails the test with its log's tail.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import docker
import pyarrow.fs as pafs

ROOT = Path(__file__).resolve().parents[1]
SWEBENCH = "swebench==5.0.2"
REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(ready: object, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(Exception):
            if ready():  # type: ignore[operator]
                return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise AssertionError(f"{what} did not come up within {timeout} s:\n{tail}")


@contextmanager
def registry(root: Path) -> Iterator[str]:
    """A registry on a free loopback port; yields its ``HOST:PORT``."""
    binary = shutil.which("docker-registry") or shutil.which("registry")
    assert binary, "no docker-registry: `make docker` installs Debian's docker-registry package"
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(storage=root / "storage", port=port))
    log = root / "registry.log"
    with log.open("w") as output:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=output, stderr=output)
    try:
        address = f"127.0.0.1:{port}"

        def answers() -> bool:
            with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as answer:
                return bool(answer.status == 200)

        wait_until(answers, "the registry", log)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def second_engine(root: Path, subnet: int | None = None) -> Iterator[str]:
    """Another dockerd, sharing nothing with the first but the kernel; yields its DOCKER_HOST.

    Its bridge has the subnet 10.214.``subnet``.0/24 (default: from the root's hash); engines
    started side by side pass different ones.
    """
    root.mkdir(parents=True, exist_ok=True)
    bridge = "tf" + hashlib.sha256(str(root).encode()).hexdigest()[:10]  # at most 15 characters
    if subnet is None:
        subnet = int(hashlib.sha256(str(root).encode()).hexdigest()[:2], 16)
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", f"10.214.{subnet}.1/24", "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    host = f"unix://{root}/docker.sock"
    log = root / "dockerd.log"
    command = [
        "dockerd",
        f"--data-root={root}/data",
        f"--exec-root={root}/exec",
        f"--pidfile={root}/docker.pid",
        f"--host={host}",
        f"--bridge={bridge}",
        "--iptables=false",
        "--ip6tables=false",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    try:

        def answers() -> bool:
            if "Daemon has completed initialization" not in log.read_text(errors="replace"):
                return False  # a client of an engine that is not up leaks its socket
            with closing(docker.DockerClient(base_url=host)) as client:
                return bool(client.ping())

        wait_until(answers, "the second engine", log)
        yield host
    finally:
        process.terminate()
        process.wait(timeout=60)
        subprocess.run(["ip", "link", "delete", bridge], check=False)
        shutil.rmtree(root / "data", ignore_errors=True)


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "taskforge-test",
    "AWS_SECRET_ACCESS_KEY": "taskforge-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata to ask here: fail fast
}


@dataclass(frozen=True)
class S3Service:
    """A running S3 server: the environment that points at it, and a client of its own."""

    env: dict[str, str]  # AWS_ENDPOINT_URL and credentials, as a user would set them for MinIO

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow client given everything explicitly (the tests' own view of the bucket)."""
        return pafs.S3FileSystem(
            access_key=self.env["AWS_ACCESS_KEY_ID"],
            secret_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region=self.env["AWS_REGION"],
            endpoint_override=self.endpoint,
            allow_bucket_creation=True,
        )

    def create_bucket(self, name: str) -> str:
        self.filesystem().create_dir(name)
        return name

    def keys(self, prefix: str) -> list[str]:
        """Every object's key under ``prefix`` (``bucket/path``), folders left out."""
        selector = pafs.FileSelector(prefix, recursive=True, allow_not_found=True)
        infos = self.filesystem().get_file_info(selector)
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    def uploads_in_progress(self, bucket: str) -> list[str]:
        """Keys of the multipart uploads begun and neither completed nor aborted."""
        import boto3  # moto's own dependency: pyarrow cannot list multipart uploads

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )
        answer = client.list_multipart_uploads(Bucket=bucket)
        return sorted(upload["Key"] for upload in answer.get("Uploads", []))

    def storage_options(self) -> dict[str, str]:
        """What polars (object_store) needs to read from this server."""
        return {
            "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
            "aws_region": self.env["AWS_REGION"],
            "aws_endpoint_url": self.endpoint,
            "aws_allow_http": "true",
        }


@contextmanager
def moto_s3(root: Path, authenticate: bool = False) -> Iterator[S3Service]:
    """moto's S3 server on a free loopback port, until the block ends."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    log = root / f"moto-{port}.log"
    environment = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"} if authenticate else None
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, env=environment)
    try:
        endpoint = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            with closing(socket.create_connection(("127.0.0.1", port), timeout=2)):
                return True

        wait_until(answers, "the moto S3 server", log)
        yield S3Service({**S3_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})
    finally:
        process.terminate()
        process.wait(timeout=30)


def swebench_python() -> Path:
    """The Python of a virtualenv holding SWE-bench's harness from PyPI, made once."""
    venv = ROOT / "data" / "cache" / "tools" / SWEBENCH.replace("==", "-")
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / ".lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (venv / ".installed").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", SWEBENCH],
                check=True,
                timeout=900,
            )
            (venv / ".installed").touch()
    return python
