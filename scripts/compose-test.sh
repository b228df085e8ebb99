#!/usr/bin/env bash
# The Docker deployment, for real: builds what is missing, starts docker-compose.yml, waits
# (bounded) until every service's health check says healthy, runs the compose tests
# (wordfreq/tests/compose) against the running containers, and removes what it started
# (containers, networks, volumes).
#
#   scripts/compose-test.sh          build, start, test, remove
#   scripts/compose-test.sh --up     build, start, wait until healthy, print the URLs and the compose
#                                    command, and leave it running (dashboard :8501, API :8000)
#   scripts/compose-test.sh --down   stop and remove what --up started, with its volumes
#
# Where no container registry answers (the official kafka and redis images are neither here nor
# pullable), the stand-ins of deploy/compose.local.yml take their place, on local base images that
# scripts/docker-base-images.sh makes from Debian's packages. WORDFREQ_LOCAL_IMAGES=1 forces the
# stand-ins, =0 the official images. Works with `docker compose` (v2) and `docker-compose` (v1).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
case "${1:-}" in
    "") ;;
    --up) mode=up ;;
    --down) mode=down ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--up | --down]" >&2; exit 2 ;;
esac

# How long the stack may take to be healthy once its images are built.
HEALTHY_WITHIN=${HEALTHY_WITHIN:-300}

step() { printf '\n==> %s\n' "$*"; }

if ! docker info >/dev/null 2>&1; then
    echo "error: no Docker engine answers (docker info failed)" >&2
    exit 1
fi
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "error: neither \`docker compose\` nor \`docker-compose\` is installed" >&2
    exit 1
fi

# The official images of the services that are not built here, present or pullable.
official_images_available() {
    local image
    for image in apache/kafka:3.9.1 redis:7.4-alpine; do
        docker image inspect "$image" >/dev/null 2>&1 || docker pull --quiet "$image" >/dev/null 2>&1 || return 1
    done
}

files=(-f "$PWD/docker-compose.yml")
local_images=${WORDFREQ_LOCAL_IMAGES:-auto}
if [[ $local_images == auto ]]; then
    if official_images_available; then local_images=0; else local_images=1; fi
fi
if [[ $local_images == 1 ]]; then
    files+=(-f "$PWD/deploy/compose.local.yml")
fi

if [[ $mode == test ]]; then project=wordfreq-compose-test; else project=wordfreq; fi
compose+=("${files[@]}" -p "$project")

if [[ $mode == down ]]; then
    "${compose[@]}" down --volumes --remove-orphans
    exit 0
fi

if [[ $local_images == 1 ]]; then
    step "local base images and stand-ins (no registry answers)"
    scripts/docker-base-images.sh
fi

step "building the images"
started=$SECONDS
"${compose[@]}" build
echo "built in $((SECONDS - started)) s"

if [[ $mode == test ]]; then
    # Removes what this run started, however it ends.
    trap '"${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true' EXIT
    "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
fi

step "starting"
started=$SECONDS
"${compose[@]}" up -d
# Every container of the project running and healthy where it has a health check (kafka-init:
# exited 0), within HEALTHY_WITHIN seconds.
while :; do
    mapfile -t ids < <("${compose[@]}" ps -a -q)
    not_ready=$(docker inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "${ids[@]}" |
        awk '!(($2 == "running" && $4 == "healthy") || ($2 == "exited" && $3 == "0"))')
    [[ -z $not_ready ]] && break
    if ((SECONDS - started > HEALTHY_WITHIN)); then
        echo "error: not healthy within $HEALTHY_WITHIN s:" >&2
        echo "$not_ready" >&2
        "${compose[@]}" ps >&2
        "${compose[@]}" logs --tail 30 >&2
        exit 1
    fi
    sleep 1
done
echo "healthy $((SECONDS - started)) s after up"

if [[ $mode == up ]]; then
    echo
    echo "dashboard:    http://localhost:8501"
    echo "producer API: http://localhost:8000 (docs at /docs)"
    echo "compose: ${compose[*]}"
    exit 0
fi

step "compose tests"
status=0
WORDFREQ_COMPOSE="${compose[*]}" cargo test --locked -p wordfreq --test compose -- --test-threads 1 --nocapture || status=$?
if ((status != 0)); then
    # What the services said, before the trap removes them.
    "${compose[@]}" logs --no-color --tail 60 >&2 || true
fi

step "stopping: each service ends on SIGTERM within compose's stop timeout (10 s)"
# A service still running at the timeout is SIGKILLed (exit 137): what it had not flushed is lost.
# The broker is left out where it is the tansu stand-in (not what users run).
started=$SECONDS
"${compose[@]}" stop
echo "stopped in $((SECONDS - started)) s"
services=(redis producer-api stream-job dashboard)
[[ $local_images == 1 ]] || services+=(kafka)
for service in "${services[@]}"; do
    for id in $("${compose[@]}" ps -q "$service"); do
        code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
        echo "$service: exit $code"
        if [[ $code == 137 ]]; then
            echo "error: $service was killed at the stop timeout, not stopped by SIGTERM" >&2
            status=1
        fi
    done
done
exit "$status"
