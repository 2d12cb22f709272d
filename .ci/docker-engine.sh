#!/usr/bin/env bash
# Make a Docker engine answer `docker info` on a Debian machine as root, with the
# tools the project and its tests use beside it: debootstrap (base images),
# docker-registry (the registry the portability tests push to) and iproute2.
# Idempotent: installs only what is missing, starts dockerd only when no engine
# answers. There is no systemd on these machines, so dockerd is started in the
# background and waited for.
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)  # the second engine's bridge (tests)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} from Debian..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "error: no Docker engine answers and this is not a Debian machine as root;" \
         "start Docker yourself and rerun" >&2
    exit 1
fi

# A dockerd that is still shutting down holds its pid file and socket: wait for it to go.
for _ in $(seq 1 60); do
    pgrep -x dockerd >/dev/null 2>&1 || break
    sleep 1
done

mkdir -p /var/log/taskforge
echo "starting dockerd (log: /var/log/taskforge/dockerd.log)..." >&2
nohup dockerd >>/var/log/taskforge/dockerd.log 2>&1 &

for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "error: dockerd did not answer within 60 s; see /var/log/taskforge/dockerd.log" >&2
exit 1
