#!/usr/bin/env bash
# Makes the base images wordfreq's Dockerfile and docker-compose.yml need, as LOCAL images, for a
# Docker engine that reaches no container registry (only Debian's packages and crates.io):
#
#   wordfreq-local/debian:bookworm-slim      minimal bookworm (debootstrap --variant=minbase from
#                                            deb.debian.org, then `docker import`), apt working
#   wordfreq-local/rust:1.95-slim-bookworm   the builder: gcc, libc6-dev and this host's Rust 1.95
#                                            toolchain (deploy/images/rust.Dockerfile)
#   wordfreq-local/redis:7                   Debian's redis-server as the redis user in /data
#                                            (deploy/images/redis.Dockerfile)
#   wordfreq-local/tansu:0.6.0               the tansu broker, installed on the host by
#                                            scripts/test.sh, as the tansu user
#                                            (deploy/images/tansu.Dockerfile)
#
# Idempotent: builds only the images that are missing; --rebuild builds them again, afresh
# (debootstrap again, docker build --no-cache: the latest packages). Name images
# (debian, rust, redis, tansu) to make only those. Needs root (debootstrap), docker, debootstrap,
# and for the rust image the toolchain under rustup. DOCKER_BUILD_NETWORK=host makes the builds use
# the host's network, where containers on the default bridge cannot reach the package mirrors.
# The builder image trusts the certificate authorities the host added (/usr/local/share/
# ca-certificates; HOST_CA_CERTS=DIR or none), for a way out that inspects TLS.
# At the end it prints the `docker build` arguments that select these images.
#
#   scripts/docker-base-images.sh [--rebuild] [debian|rust|redis|tansu ...]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES_DIR="$ROOT/deploy/images"

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
RUST_VERSION=1.95.0
TANSU_VERSION=0.6.0

DEBIAN_IMAGE=wordfreq-local/debian:bookworm-slim
RUST_IMAGE=wordfreq-local/rust:1.95-slim-bookworm
REDIS_IMAGE=wordfreq-local/redis:7
TANSU_IMAGE=wordfreq-local/tansu:0.6.0

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

rebuild=false
wanted=()
for arg in "$@"; do
    case "$arg" in
        --rebuild) rebuild=true ;;
        -h | --help) usage; exit 0 ;;
        debian | rust | redis | tansu) wanted+=("$arg") ;;
        *) echo "error: unknown argument $arg" >&2; usage >&2; exit 2 ;;
    esac
done
if [ ${#wanted[@]} -eq 0 ]; then
    wanted=(debian rust redis tansu)
fi

step() { printf '\n== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

command -v docker >/dev/null || die "docker is not on PATH"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info)"

build_network=()
no_cache=()
if $rebuild; then
    no_cache=(--no-cache)
fi
if [ -n "${DOCKER_BUILD_NETWORK:-}" ]; then
    build_network=(--network "$DOCKER_BUILD_NETWORK")
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/wordfreq-base-images.XXXXXX")
mounted=()
cleanup() {
    local mount
    for mount in "${mounted[@]}"; do
        umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Whether to make an image: asked for by name, and missing or --rebuild.
should_build() {
    local name=$1 image=$2 each
    for each in "${wanted[@]}"; do
        if [ "$each" = "$name" ]; then
            if $rebuild || ! have_image "$image"; then
                return 0
            fi
            echo "$image exists (--rebuild makes it again)"
            return 1
        fi
    done
    return 1
}

# Builds from DOCKERFILE (under deploy/images) with CONTEXT (a folder) as image TAG.
build_image() {
    local dockerfile=$1 context=$2 tag=$3
    shift 3
    DOCKER_BUILDKIT=0 docker build "${build_network[@]}" "${no_cache[@]}" --pull=false \
        --build-arg BASE_IMAGE="$DEBIAN_IMAGE" -f "$IMAGES_DIR/$dockerfile" -t "$tag" "$@" "$context"
}

need_debian_image() {
    have_image "$DEBIAN_IMAGE" || die "$DEBIAN_IMAGE is missing: run $0 debian first"
}

# Checks that every library BINARY links is found inside IMAGE.
check_libraries() {
    local image=$1 binary=$2 out
    out=$(docker run --rm --entrypoint ldd "$image" "$binary")
    echo "$out"
    if grep -q 'not found' <<<"$out"; then
        die "$binary in $image links a library the image lacks"
    fi
}

# --- wordfreq-local/debian:bookworm-slim ----------------------------------------------------------
make_debian() {
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    local rootfs="$WORK/rootfs"

    step "debootstrap --variant=minbase $SUITE from $MIRROR"
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR"

    # As Debian's official images: the updates and security suites; no docs, man pages or
    # translations from later installs; no package cache kept; services never started on install.
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/wordfreq-slim" <<'EOF'
# A slim image: no documentation but the copyright files, no man pages, no translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/wordfreq-slim" <<'EOF'
// A slim image: downloaded packages and apt's binary caches are not kept, no translations fetched.
APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    printf '#!/bin/sh\n# Containers start no services on package installs.\nexit 101\n' \
        >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"

    step "security and point-release updates in the new root"
    mount -t proc proc "$rootfs/proc"
    mounted+=("$rootfs/proc")
    chroot "$rootfs" apt-get update
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -y upgrade
    chroot "$rootfs" apt-get clean
    umount "$rootfs/proc"
    mounted=()

    # What debootstrap left that an image must not carry: apt's lists and caches, logs, the files
    # the docs exclusion now keeps out, and the host's resolv.conf and hostname (Docker provides
    # them).
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
        "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/root/.bash_history \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
        "$rootfs"/usr/share/lintian/*
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"
    : >"$rootfs/etc/machine-id"

    step "docker import $DEBIAN_IMAGE ($(du -sh "$rootfs" | cut -f1) of files)"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --message "debootstrap --variant=minbase $SUITE $MIRROR" \
        - "$DEBIAN_IMAGE"
    rm -rf "$rootfs"

    docker run --rm "$DEBIAN_IMAGE" sh -c '. /etc/os-release && echo "$PRETTY_NAME"'
}

# --- wordfreq-local/rust:1.95-slim-bookworm -------------------------------------------------------
make_rust() {
    need_debian_image
    command -v rustup >/dev/null || die "rustup is not on PATH: the toolchain is copied from it"
    local toolchain="$RUST_VERSION-x86_64-unknown-linux-gnu" line name path sysroot="" context="$WORK/rust"
    # The installed toolchain named for the version, else any installed one (stable, say) that is
    # that version; read from its own rustc, so rustup never tries to install one.
    while IFS= read -r line; do
        name=${line%% *}
        path=${line##* }
        [ -x "$path/bin/rustc" ] || continue
        if "$path/bin/rustc" --version | grep -q "^rustc $RUST_VERSION "; then
            if [ -z "$sysroot" ] || [ "$name" = "$toolchain" ]; then
                sysroot=$path
            fi
        fi
    done < <(rustup toolchain list -v)
    [ -n "$sysroot" ] || die "rustup has no Rust $RUST_VERSION toolchain (rustup toolchain list -v)"

    # Only what building needs: cargo, rustc, rustdoc, their libraries (LLVM, the driver) and the
    # x86_64 standard library with its linker (rust-lld); no docs, completions or extra tools.
    step "staging the Rust $RUST_VERSION toolchain from $sysroot"
    mkdir -p "$context/toolchain/bin" "$context/toolchain/lib" "$context/extra-ca"
    cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$sysroot/bin/rustdoc" "$context/toolchain/bin/"
    cp -a "$sysroot"/lib/*.so* "$context/toolchain/lib/"
    cp -a "$sysroot/lib/rustlib" "$context/toolchain/lib/"
    rm -rf "$context/toolchain/lib/rustlib/src" "$context/toolchain/lib/rustlib/"manifest-rust-docs-*
    echo "$(du -sh "$context/toolchain" | cut -f1) staged"

    # The certificate authorities this host added to its trust (HOST_CA_CERTS=none: none), for a
    # network whose way out inspects TLS: without them cargo in the build cannot reach crates.io.
    local ca_dir=${HOST_CA_CERTS:-/usr/local/share/ca-certificates} cert
    if [ "$ca_dir" != none ] && [ -d "$ca_dir" ]; then
        while IFS= read -r -d '' cert; do
            grep -q 'PRIVATE KEY' "$cert" && die "$cert holds a private key: not copied"
            echo "the builder trusts the host's $cert"
            cp "$cert" "$context/extra-ca/"
        done < <(find "$ca_dir" -maxdepth 1 -name '*.crt' -print0)
    fi

    step "docker build $RUST_IMAGE"
    build_image rust.Dockerfile "$context" "$RUST_IMAGE" --build-arg TOOLCHAIN="$toolchain"
    rm -rf "$context"
    docker run --rm "$RUST_IMAGE" sh -c 'rustc --version && cargo --version && echo "CARGO_HOME=$CARGO_HOME"'
}

# --- wordfreq-local/redis:7 -----------------------------------------------------------------------
make_redis() {
    need_debian_image
    local context="$WORK/redis"
    mkdir -p "$context"
    cp "$IMAGES_DIR/redis-entrypoint.sh" "$context/"
    step "docker build $REDIS_IMAGE"
    build_image redis.Dockerfile "$context" "$REDIS_IMAGE"
    rm -rf "$context"
    docker run --rm "$REDIS_IMAGE" redis-server --version
}

# --- wordfreq-local/tansu:0.6.0 -------------------------------------------------------------------
make_tansu() {
    need_debian_image
    local tansu="${CARGO_HOME:-$HOME/.cargo}/bin/tansu" context="$WORK/tansu"
    if ! { [ -x "$tansu" ] && "$tansu" --version 2>/dev/null | grep -qx "tansu $TANSU_VERSION"; }; then
        step "tansu $TANSU_VERSION is not at $tansu: installing it as scripts/test.sh does (about 11 minutes on 2 cores)"
        cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
    fi
    "$tansu" --version | grep -qx "tansu $TANSU_VERSION" || die "$tansu is not tansu $TANSU_VERSION"
    mkdir -p "$context"
    cp "$tansu" "$context/tansu"
    cp "$IMAGES_DIR/kafka-ping" "$context/kafka-ping"
    step "docker build $TANSU_IMAGE"
    build_image tansu.Dockerfile "$context" "$TANSU_IMAGE"
    rm -rf "$context"
    check_libraries "$TANSU_IMAGE" /usr/local/bin/tansu
    docker run --rm "$TANSU_IMAGE" --version
}

timed() {
    local name=$1 start=$SECONDS
    "make_$name"
    echo "($name: $((SECONDS - start)) s)"
}

if should_build debian "$DEBIAN_IMAGE"; then timed debian; fi
if should_build rust "$RUST_IMAGE"; then timed rust; fi
if should_build redis "$REDIS_IMAGE"; then timed redis; fi
if should_build tansu "$TANSU_IMAGE"; then timed tansu; fi

step "local base images"
docker images --filter 'reference=wordfreq-local/*'
cat <<EOF

Build wordfreq's images on them with:
  docker build --build-arg BUILDER_IMAGE=$RUST_IMAGE --build-arg RUNTIME_IMAGE=$DEBIAN_IMAGE --target producer-api -t wordfreq/producer-api .
(likewise --target stream-job, dashboard, tools). The arguments:
  --build-arg BUILDER_IMAGE=$RUST_IMAGE --build-arg RUNTIME_IMAGE=$DEBIAN_IMAGE
Redis and the broker: $REDIS_IMAGE, $TANSU_IMAGE.
EOF
