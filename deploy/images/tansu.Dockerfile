# wordfreq-local/tansu:0.6.0: the tansu broker (Kafka wire-compatible, one binary) as a stand-in
# for a Kafka image, for a Docker engine without a registry. Built by scripts/docker-base-images.sh
# on its local Debian image, with the tansu that scripts/test.sh installs on the host (cargo install
# tansu --version 0.6.0 --features dynostore,libsql) in the build context. It links only glibc and
# libgcc, which every Debian image has (the script checks with ldd). Runs as the tansu user, its
# data (the SQLite storage engine's file) in /var/lib/tansu, a volume (/var/lib/kafka/data, where
# docker-compose.yml mounts the kafka-data volume, is the tansu user's too, so the override keeps
# the broker's data in that volume as Kafka's would be):
#   docker run wordfreq-local/tansu:0.6.0 broker --listener-url tcp://0.0.0.0:29092 \
#       --advertised-listener-url tcp://kafka:29092 --storage-engine sqlite:///var/lib/tansu/tansu.db
# Health check (bash is in the image): kafka-ping 29092, a Kafka ApiVersions request over bash's
# /dev/tcp that succeeds when the broker answers it.
ARG BASE_IMAGE=wordfreq-local/debian:bookworm-slim
# The tag is in the argument (the local Debian image by default).
# hadolint ignore=DL3006
FROM ${BASE_IMAGE}

# ca-certificates for the storage engines and exporters reached over TLS (S3, PostgreSQL, OTLP).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 --home-dir /var/lib/tansu --no-create-home --shell /usr/sbin/nologin tansu \
 && install -d -o tansu -g tansu /var/lib/tansu /var/lib/kafka/data

COPY tansu /usr/local/bin/tansu
COPY kafka-ping /usr/local/bin/kafka-ping
USER tansu
VOLUME /var/lib/tansu
# tansu takes a sqlite:// URL's path relative to its working directory (tansu-storage's lite.rs):
# from /, sqlite:///var/lib/tansu/tansu.db is that file. (sqlite://tansu.db would be /tansu.db,
# which the tansu user cannot write.)
WORKDIR /
EXPOSE 9092
ENTRYPOINT ["tansu"]
CMD ["broker", "--storage-engine", "sqlite:///var/lib/tansu/tansu.db"]
