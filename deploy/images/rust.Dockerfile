# wordfreq-local/rust:1.95-slim-bookworm: a stand-in for the official rust:1.95-slim-bookworm, for a
# Docker engine without a registry. Built by scripts/docker-base-images.sh on its local Debian image,
# with the host's Rust toolchain (cargo, rustc, rustdoc and the standard library, no docs) in the
# build context's toolchain/ folder, which the script stages.
ARG BASE_IMAGE=wordfreq-local/debian:bookworm-slim
# The tag is in the argument (the local Debian image by default).
# hadolint ignore=DL3006
FROM ${BASE_IMAGE}

# Where the official image keeps them: `cargo install` puts its binaries in $CARGO_HOME/bin, on PATH.
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    RUST_VERSION=1.95.0

# The certificate authorities the host added to its own (its /usr/local/share/ca-certificates; the
# script stages them, none on most hosts): where the way out inspects TLS with its own authority,
# cargo reaches crates.io only trusting it. Only this builder has them, never the shipped images.
COPY extra-ca/ /usr/local/share/ca-certificates/
# What the official slim image installs that builds need: TLS roots (crates.io) and a C compiler
# and libc headers, which rustc links with.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates

ARG TOOLCHAIN=1.95.0-x86_64-unknown-linux-gnu
COPY toolchain/ ${RUSTUP_HOME}/toolchains/${TOOLCHAIN}/
# rustc finds its standard library from its own path, so links on PATH are enough (no rustup).
RUN mkdir -p "$CARGO_HOME/bin" \
 && for tool in cargo rustc rustdoc; do \
        ln -s "$RUSTUP_HOME/toolchains/$TOOLCHAIN/bin/$tool" "$CARGO_HOME/bin/$tool"; \
    done \
 && chmod -R a+w "$CARGO_HOME" \
 && rustc --version && cargo --version
