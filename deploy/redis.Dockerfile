# Redis for deploy/compose.yaml where the official redis:7 image cannot be pulled (no registry):
# Debian's redis-server on the local Debian base; build-image.sh --redis builds it as local/redis:bookworm.
# Like the official image it runs `redis-server` as the redis user with its data in /data.
ARG BASE_IMAGE=local/debian-python:bookworm
FROM ${BASE_IMAGE}
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; chown redis:redis /data
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379
CMD ["redis-server"]
