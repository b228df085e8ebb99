# wordfreq-local/redis:7: Debian's Redis 7 for docker-compose.yml's redis service, for a Docker engine
# without a registry. Built by scripts/docker-base-images.sh on its local Debian image. Runs as the
# redis user in /data (a volume, which a new named volume takes the ownership of), with the
# compose file's own command and `redis-cli ping` health check.
ARG BASE_IMAGE=wordfreq-local/debian:bookworm-slim
# The tag is in the argument (the local Debian image by default).
# hadolint ignore=DL3006
FROM ${BASE_IMAGE}

# The package makes the redis user; the base image's policy-rc.d keeps it from starting a service.
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data

COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["redis-entrypoint.sh"]
CMD ["redis-server"]
