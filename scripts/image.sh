#!/usr/bin/env bash
# Builds the container image from Dockerfile with buildah (as root, no daemon: vfs storage, chroot isolation) and
# writes it as an OCI archive. Usage: scripts/image.sh <binary> <archive> <name:tag>
# buildah keeps its storage under _build/buildah and it is removed afterwards: nothing outside the checkout changes.
set -euo pipefail
binary=$1 archive=$2 tag=$3
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v buildah >/dev/null 2>&1 || [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then
  echo "image: installing buildah and ca-certificates (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah ca-certificates >/dev/null
fi
[ "$binary" = _build/otelcol-fapilog ] || { echo "image: the Dockerfile copies _build/otelcol-fapilog, not $binary" >&2; exit 1; }

mkdir -p _build/image
cp /etc/ssl/certs/ca-certificates.crt _build/image/ca-certificates.crt
storage=(--root "$PWD/_build/buildah/root" --runroot "$PWD/_build/buildah/run" --storage-driver vfs)
trap 'rm -rf _build/buildah' EXIT
buildah "${storage[@]}" bud --isolation chroot --layers=false --quiet -f Dockerfile -t "$tag" . >/dev/null
rm -f "$archive"
buildah "${storage[@]}" push --quiet "$tag" "oci-archive:$archive:$tag"
echo "image: $tag -> $archive ($(du -h "$archive" | cut -f1))"
