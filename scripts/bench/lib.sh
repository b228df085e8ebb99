# Shared by the benchmark scripts (sourced, not run): tools, free ports, bounded waits, the shared
# tansu broker and redis-server, and processes that are stopped on every exit.

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }

# Every release binary. Always the whole workspace: cargo unifies features over the packages it is
# asked for, so building one package alone would rebuild librdkafka and the rest differently.
build_release() { cargo build --release --locked --workspace --bins; }

# need_debian TOOL [PACKAGE]: installs PACKAGE (default TOOL) from Debian when TOOL is missing.
need_debian() {
    command -v "$1" >/dev/null && return 0
    step "installing ${2:-$1} from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${2:-$1}" >/dev/null
}

need_servers() {
    local tool
    for tool in tansu redis-server; do
        command -v "$tool" >/dev/null || {
            echo "error: $tool is not on PATH; scripts/test.sh installs it" >&2
            exit 1
        }
    done
}

# venv DIR REQUIREMENT...: a virtualenv at DIR with the requirements installed; reinstalled only when
# the requirements change (a stamp keeps what it was built from).
venv() {
    local dir=$1 wanted
    shift
    wanted=$(printf '%s\n' "$@" | sha256sum | cut -d' ' -f1)
    if [[ ! -x $dir/bin/python || ! -f $dir/.stamp || $(cat "$dir/.stamp") != "$wanted" ]]; then
        step "virtualenv $dir: $*"
        python3 -m venv "$dir"
        "$dir/bin/pip" install -q --disable-pip-version-check "$@"
        echo "$wanted" >"$dir/.stamp"
    fi
}

# Processes started by `background` are stopped, newest first, on every exit.
bench_pids=()
background() { # LOG COMMAND...: runs COMMAND in the background with its output in LOG
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    bench_pids+=($!)
}
stop_background() {
    local i
    for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${bench_pids[i]}" 2>/dev/null || true
        wait "${bench_pids[i]}" 2>/dev/null || true
    done
    bench_pids=()
}
trap stop_background EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0 and let the kernel choose. Another process could take it before
# it is bound again, which on this machine is unlikely enough.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_until SECONDS WHAT COMMAND...: retries COMMAND every 0.2 s until it succeeds, bounded.
wait_until() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "error: $what not ready after ${seconds}s" >&2
            exit 1
        fi
        sleep 0.2
    done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/health"; }

# shared_servers LOG_DIR: sets BENCH_BROKER (host:port) and BENCH_REDIS (URL), starting a tansu broker
# and a redis-server (AOF, fsync every second, as deployed) unless the caller already set them. The
# broker keeps its log in SQLite under LOG_DIR, as the test kit's does: a broker that persists, as
# any deployed one does. (tansu's memory:// storage serves a bare consumer about 3x faster; see
# docs/BENCHMARKS.md.)
shared_servers() {
    local logs=$1 port
    need_servers
    if [[ -z ${BENCH_BROKER:-} ]]; then
        port=$(free_port)
        BENCH_BROKER=127.0.0.1:$port
        step "tansu broker on $BENCH_BROKER"
        mkdir -p "$logs/tansu"
        # tansu takes the SQLite file relative to its working directory.
        background "$logs/tansu.log" bash -c 'cd "$1" && exec tansu broker --listener-url "tcp://$2" \
            --advertised-listener-url "tcp://$2" --storage-engine sqlite://tansu.db' _ "$logs/tansu" "$BENCH_BROKER"
        wait_until 30 "tansu broker" port_open "$port"
    fi
    if [[ -z ${BENCH_REDIS:-} ]]; then
        port=$(free_port)
        mkdir -p "$logs/redis"
        BENCH_REDIS=redis://127.0.0.1:$port/
        step "redis-server on $BENCH_REDIS"
        background "$logs/redis.log" redis-server --port "$port" --dir "$logs/redis" \
            --appendonly yes --appendfsync everysec --save ""
        wait_until 30 "redis-server" port_open "$port"
    fi
    export BENCH_BROKER BENCH_REDIS
}

# peak_rss_kib PID: the process's peak resident set (VmHWM), in KiB.
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
