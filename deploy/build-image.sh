#!/usr/bin/env bash
# Build the dockbolt image (one image for bot, worker and watcher) from deploy/Dockerfile.
#
#   deploy/build-image.sh [--redis]          (or `make image`)
#
# 1. The wheelhouse is built on this host with the project's venv (`pip wheel`: dockbolt, its
#    dependencies, pip itself) into a temporary build context, so the image build needs no package index.
#    The host's Python minor version must match the base image's (3.11, like bookworm's).
# 2. The base: BASE_IMAGE when set; else python:3.11-slim when it is here or can be pulled; else a local
#    Debian bookworm base, local/debian-python:bookworm, made once with debootstrap (as root) and reused.
# 3. docker build, then the throw-away install stage's leftover image is removed.
# --redis also makes sure a Redis image for deploy/compose.yaml exists: redis:7 when it can be pulled,
#    else local/redis:bookworm built from the same local base (set DOCKBOLT_REDIS_IMAGE to it).
#
# Environment: IMAGE (default dockbolt:latest; also tagged dockbolt:<version>), BASE_IMAGE, WITH_GIT
# (default true: git in the image for the worker's build/deploy), DEBIAN_MIRROR, PIP (default
# .venv/bin/pip), PULL_TIMEOUT (seconds, default 60).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${IMAGE:-dockbolt:latest}"
DEFAULT_BASE="python:3.11-slim"
LOCAL_BASE="local/debian-python:bookworm"
LOCAL_REDIS="local/redis:bookworm"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PIP="${PIP:-$root/.venv/bin/pip}"
PULL_TIMEOUT="${PULL_TIMEOUT:-60}"
WITH_GIT="${WITH_GIT:-true}"
want_redis=false

for arg in "$@"; do
  case "$arg" in
    --redis) want_redis=true ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build-image: $*" >&2; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
pullable() { have_image "$1" || timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || { say "no docker CLI on PATH"; exit 1; }
docker info >/dev/null 2>&1 || { say "the Docker engine does not answer (docker info)"; exit 1; }
[ -x "$PIP" ] || { say "$PIP not found: run \`make install\` first (or set PIP)"; exit 1; }

local_base() {
  if have_image "$LOCAL_BASE"; then
    say "reusing $LOCAL_BASE"
    return
  fi
  [ "$(id -u)" = 0 ] || { say "$LOCAL_BASE is missing and debootstrap needs root: run this as root once"; exit 1; }
  command -v debootstrap >/dev/null || { say "$LOCAL_BASE is missing: apt-get install -y debootstrap"; exit 1; }
  local rootfs
  rootfs="$(mktemp -d /tmp/dockbolt-rootfs.XXXXXX)"
  say "making $LOCAL_BASE with debootstrap from $DEBIAN_MIRROR (once; about a minute)"
  if ! debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" "$DEBIAN_MIRROR" >"$rootfs.log" 2>&1; then
    tail -20 "$rootfs.log" >&2
    rm -rf "$rootfs" "$rootfs.log"
    say "debootstrap failed"
    exit 1
  fi
  # Like Debian's slim images: no documentation or translations, now or from later apt-get installs.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  # debootstrap's sources.list may name the mirror only: make it complete for apt-get inside builds.
  echo "deb $DEBIAN_MIRROR bookworm main" >"$rootfs/etc/apt/sources.list"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$LOCAL_BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  say "made $LOCAL_BASE"
}

if [ -n "${BASE_IMAGE:-}" ]; then
  base="$BASE_IMAGE"
elif pullable "$DEFAULT_BASE"; then
  base="$DEFAULT_BASE"
else
  say "$DEFAULT_BASE cannot be pulled: using a local Debian base instead"
  local_base
  base="$LOCAL_BASE"
fi

start=$(date +%s)
ctx="$(mktemp -d /tmp/dockbolt-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT

# The project's sources only (no venv, caches or build/ left in the repository).
mkdir "$ctx/src" "$ctx/wheels"
tar -C "$root" --exclude=__pycache__ -cf - pyproject.toml README.md bot workers dockbolt | tar -C "$ctx/src" -xf -
say "building the wheelhouse"
# pip resolves markers for this host's Python: add what a dependency needs only on an older 3.11 patch
# release (redis needs async-timeout below 3.11.3; bookworm has 3.11.2), and pip's own wheel (it installs
# the rest inside the build).
"$PIP" wheel --quiet --disable-pip-version-check --wheel-dir "$ctx/wheels" "$ctx/src" pip \
  'async-timeout>=4.0.3'
rm -rf "$ctx/src"
cp "$root/deploy/Dockerfile" "$root/deploy/healthcheck.py" "$ctx/"

version="$("$root/.venv/bin/python" -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$root/pyproject.toml")"
previous="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
say "building $IMAGE (dockbolt $version) FROM $base"
docker build --quiet --force-rm --build-arg "BASE_IMAGE=$base" --build-arg "WITH_GIT=$WITH_GIT" \
  --build-arg "DOCKBOLT_VERSION=$version" -t "$IMAGE" -t "dockbolt:$version" "$ctx" >/dev/null
# The install stage's image (wheels and all) is left dangling by the classic builder: remove it (`docker
# image prune --filter label=…` leaves it on engine 20.10).
stale="$(docker images -q --filter dangling=true --filter label=dockbolt.image.stage=install)"
[ -z "$stale" ] || docker rmi $stale >/dev/null
# The image this build replaced, when nothing else names or runs it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ] \
    && [ "$(docker image inspect -f '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
  docker rmi "$previous" >/dev/null 2>&1 || say "kept the previous image ${previous:7:12} (a container uses it)"
fi

if $want_redis; then
  if pullable redis:7; then
    say "Redis image: redis:7"
  elif have_image "$LOCAL_REDIS"; then
    say "Redis image: $LOCAL_REDIS (reused; set DOCKBOLT_REDIS_IMAGE=$LOCAL_REDIS)"
  else
    [ "$base" = "$LOCAL_BASE" ] || local_base
    say "redis:7 cannot be pulled: building $LOCAL_REDIS (set DOCKBOLT_REDIS_IMAGE=$LOCAL_REDIS)"
    docker build --quiet --force-rm --build-arg "BASE_IMAGE=$LOCAL_BASE" -t "$LOCAL_REDIS" - \
      <"$root/deploy/redis.Dockerfile" >/dev/null
  fi
fi

size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
say "built $IMAGE in $(( $(date +%s) - start )) s: $(( size / 1000000 )) MB"
