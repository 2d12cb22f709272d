"""Pin a written go.mod's requirements to the versions of a day (standard library only).

    python3 go_as_of.py 2016-05-01   (in the folder of the go.mod)

A repository from before Go modules names no versions: ``go mod tidy`` takes each import's
newest, years after the code, and an old tree often fails on them (a module whose files a
later Go reads differently, an API that moved). This asks the Go module proxy (``GOPROXY``,
as on the host) for each required module's versions and their times, and requires the newest
published on or before the day, or the oldest the proxy serves when none was; a second
``go mod tidy`` then settles the graph (a module that needs a newer one still raises it).
"""

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

# a pseudo-version: v0.0.0-20160806122752-66b8e73f3f5c, v0.8.1-0.20170505043639-c605e284fe17
PSEUDO = re.compile(r"[.-](\d{14})-[0-9a-f]{12}(?:\+incompatible)?$")
CONTEXT = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))


def escaped(path: str) -> str:
    """The proxy's case encoding: an upper-case letter is ``!`` and the letter."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


def get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, context=CONTEXT, timeout=60) as answer:
            data: bytes = answer.read()
            return data
    except OSError:
        return b""


def published(proxy: str, module: str) -> list[tuple[datetime, str]]:
    """The module's versions the proxy lists, with their times (a pseudo-version carries its
    commit's time in its name; a tag's is asked for)."""
    base = f"{proxy}/{urllib.parse.quote(escaped(module))}/@v/"
    versions = get(base + "list").decode().split()

    def dated(version: str) -> tuple[datetime, str] | None:
        if pseudo := PSEUDO.search(version):
            return datetime.strptime(pseudo[1] + "+0000", "%Y%m%d%H%M%S%z"), version
        try:
            info = json.loads(get(f"{base}{urllib.parse.quote(version)}.info"))
            return datetime.fromisoformat(info["Time"].replace("Z", "+00:00")), version
        except (ValueError, KeyError, TypeError):
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sorted(found for found in pool.map(dated, versions) if found)


def as_of(day: datetime, dated: list[tuple[datetime, str]]) -> str | None:
    """The newest version published by ``day``, else the oldest one; None if none."""
    before = [version for stamp, version in dated if stamp <= day]
    if before:
        return before[-1]
    return dated[0][1] if dated else None


def main(day_text: str) -> None:
    day = datetime.fromisoformat(day_text + "T23:59:59+00:00")
    proxy = os.environ.get("GOPROXY") or "https://proxy.golang.org"
    proxy = next(p for p in proxy.split(",") if p.startswith("http")).rstrip("/")
    listed = json.loads(subprocess.check_output(["go", "mod", "edit", "-json"]))
    edits = []
    for require in listed.get("Require") or []:
        version = as_of(day, published(proxy, require["Path"]))
        if version and version != require["Version"]:
            edits.append(f"-require={require['Path']}@{version}")
            print(f"taskforge: {require['Path']} {require['Version']} -> {version}")
    if edits:
        subprocess.check_call(["go", "mod", "edit", *edits])


if __name__ == "__main__":
    main(sys.argv[1])
