# One multi-stage build for every wordfreq image. The dependency graph is compiled once in a layer
# of its own (cargo-chef), so a change to wordfreq's code rebuilds only wordfreq; each service then
# ships its one binary on Debian slim as a non-root user. Targets (docker-compose.yml builds each):
#   producer-api, stream-job, dashboard  the three services
#   tools                                `wordfreq` (init-topics, embedded mode) and scripts/kafka-init.sh
#
# The two base images are build arguments, the official ones by default. Where no registry can be
# reached, scripts/docker-base-images.sh makes local stand-ins and prints the arguments that select
# them (BUILDER_IMAGE=wordfreq-local/rust:1.95-slim-bookworm, RUNTIME_IMAGE=wordfreq-local/debian:
# bookworm-slim). Both must be Debian bookworm: the package names below are its. No BuildKit-only
# feature and no `# syntax=` line (it would pull a frontend image): the classic builder, which
# docker-compose v1 uses, builds this file as BuildKit does.

ARG BUILDER_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The tag is in the argument (its default above, or the local image's name).
# hadolint ignore=DL3006
FROM ${BUILDER_IMAGE} AS chef
# librdkafka is built from source by the rdkafka crate: a C toolchain, make, pkg-config, zlib, and
# OpenSSL for TLS and SCRAM to Kafka.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config zlib1g-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.73 --locked
# Images carry no debug information: the binaries are about half the size.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
WORKDIR /build

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
# The dependencies alone: this layer is reused until Cargo.lock changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked \
    --bin wordfreq --bin producer-api --bin stream-job --bin dashboard

# The tag is in the argument (its default above, or the local image's name).
# hadolint ignore=DL3006
FROM ${RUNTIME_IMAGE} AS runtime
# curl only for the health checks; ca-certificates for TLS to Kafka and Redis; zlib and OpenSSL,
# which librdkafka links dynamically (tests/deploy.rs checks this list against `ldd`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin wordfreq
USER wordfreq
ENV LOG_FORMAT=json

FROM runtime AS producer-api
COPY --from=builder /build/target/release/producer-api /usr/local/bin/producer-api
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["producer-api"]

FROM runtime AS stream-job
COPY --from=builder /build/target/release/stream-job /usr/local/bin/stream-job
EXPOSE 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9100/health || exit 1
ENTRYPOINT ["stream-job"]

FROM runtime AS dashboard
COPY --from=builder /build/target/release/dashboard /usr/local/bin/dashboard
EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8501/api/stats || exit 1
ENTRYPOINT ["dashboard"]

FROM runtime AS tools
COPY --from=builder /build/target/release/wordfreq /usr/local/bin/wordfreq
COPY scripts/kafka-init.sh /usr/local/bin/kafka-init.sh
ENTRYPOINT ["kafka-init.sh"]
