#!/usr/bin/env bash
# Prepare this machine for the container tests (tests/container), idempotently:
#
#   bash tests/container/docker_host.sh BASE_IMAGE
#
# 1. install Debian's docker.io, docker-compose and debootstrap when missing (root only);
# 2. start dockerd when nothing answers on /var/run/docker.sock: vfs storage (works on any filesystem, no
#    overlay mounts needed), data under /var/lib/docker, its own pidfile /run/openim-test-dockerd.pid and log
#    /var/log/openim-test-dockerd.log; it is left running for later runs;
# 3. build BASE_IMAGE when the daemon does not have it: Debian bookworm minbase by debootstrap from Debian's
#    own mirror (no image registry is needed), imported with `docker import`. Built once per machine.
#
# Exit codes: 0 ready; 3 the machine cannot run the daemon (not root, packages not installable, dockerd does
# not start): the tests skip with the message printed on stderr; anything else is an error.
set -uo pipefail

base_image=${1:?usage: docker_host.sh BASE_IMAGE}
pidfile=/run/openim-test-dockerd.pid
logfile=/var/log/openim-test-dockerd.log
cannot() { echo "docker_host: $*" >&2; exit 3; }
say() { echo "docker_host: $*" >&2; }

daemon_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || cannot "not root, cannot install ${need[*]}"
    command -v apt-get >/dev/null 2>&1 || cannot "no apt-get to install ${need[*]}"
    say "installing ${need[*]} from Debian"
    start=$(date +%s)
    if ! { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need[@]}" iptables ca-certificates >/dev/null; }; then
        cannot "apt-get install ${need[*]} failed"
    fi
    say "installed in $(( $(date +%s) - start ))s"
fi

if ! daemon_up; then
    [ "$(id -u)" -eq 0 ] || cannot "no Docker daemon answers and not root to start one"
    say "starting dockerd (vfs, /var/lib/docker, pidfile $pidfile, log $logfile)"
    mkdir -p /var/lib/docker
    setsid dockerd --storage-driver=vfs --data-root=/var/lib/docker --pidfile="$pidfile" \
        -H unix:///var/run/docker.sock >>"$logfile" 2>&1 < /dev/null &
    for _ in $(seq 60); do
        daemon_up && break
        sleep 0.5
    done
    daemon_up || cannot "dockerd did not answer within 30 s; last lines of $logfile: $(tail -n 5 "$logfile" | tr '\n' ' ')"
fi

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || cannot "not root, cannot debootstrap the base image $base_image"
    say "building the base image $base_image with debootstrap (a few minutes, once per machine)"
    start=$(date +%s)
    dir=$(mktemp -d /var/tmp/openim-base.XXXXXX)
    if ! debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1; then
        tail -n 20 "$dir.log" >&2
        rm -rf "$dir"
        echo "docker_host: debootstrap failed" >&2
        exit 1
    fi
    chmod 0755 "$dir"  # mktemp made it 0700: as the image's / it would shut out every user but root
    # what the -slim images also drop: the apt lists and caches
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
    tar -C "$dir" -c . | docker import - "$base_image" >/dev/null || { rm -rf "$dir"; echo "docker_host: docker import failed" >&2; exit 1; }
    rm -rf "$dir" "$dir.log"
    say "base image $base_image built in $(( $(date +%s) - start ))s"
fi
exit 0
