#!/usr/bin/env bash
# Builds the two images the Containerfile needs, from this machine's parts and the Debian
# mirror only (no image registry, no internet beyond apt and npm), into buildah's local storage:
#
#   BASE     a distroless-style Node runtime: this machine's node binary, exactly the shared
#            libraries `ldd` names for it, /etc/passwd and /etc/group with the non-root user
#            nonroot (65532:65532, the uid distroless images use), the CA bundle, os-release.
#            No shell, no package manager, no suid/sgid file. One layer.
#   BUILDER  Debian bookworm (mmdebstrap, essential packages) + python3, make and g++ for
#            node-gyp, which builds zstd-napi's libzstd from source, + this machine's node,
#            npm and Node headers (npm's nodedir, so node-gyp downloads nothing).
#
# Usage: ci/image/build-base.sh [BASE_NAME [BUILDER_NAME]]
#   defaults localhost/oci-scan-base:node20 and localhost/oci-scan-builder:node20.
# Storage: buildah's defaults, or CONTAINERS_STORAGE_CONF (the tests point it at a temp dir).
# Needs root, buildah and mmdebstrap (apt-get install buildah mmdebstrap), node ≥ 20.18.
set -euo pipefail

base_name=${1:-localhost/oci-scan-base:node20}
builder_name=${2:-localhost/oci-scan-builder:node20}
work=$(mktemp -d "${TMPDIR:-/tmp}/oci-scan-base-XXXXXX")
containers=()
cleanup() {
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(dirname "$(dirname "$node_bin")")
node_version=$("$node_bin" --version)
ca_bundle=/etc/ssl/certs/ca-certificates.crt
label_args=(--label org.opencontainers.image.vendor=oci-scan --label "org.opencontainers.image.version=$node_version")

# --- BASE -------------------------------------------------------------------------------------
root=$work/base
mkdir -p "$root"/usr/bin "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib64 "$root"/etc/ssl/certs "$root"/home/nonroot "$root"/tmp
# Debian's merged /usr: the loader path baked into node (/lib64/ld-linux-x86-64.so.2) resolves.
ln -s usr/bin "$root"/bin
ln -s usr/lib "$root"/lib
ln -s usr/lib64 "$root"/lib64
cp "$node_bin" "$root"/usr/bin/node
# Each library ldd names (and the loader), copied as the file the soname resolves to, at the
# same path under the merged /usr.
ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
  dir=$(readlink -f "$(dirname "$lib")")
  mkdir -p "$root$dir"
  cp -L "$lib" "$root$dir/$(basename "$lib")"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root"/etc/passwd
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root"/etc/group
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root"/etc/nsswitch.conf
cp "$ca_bundle" "$root"/etc/ssl/certs/ca-certificates.crt
# The libraries are this machine's Debian release: say so, as distroless images do.
cp -L /etc/os-release "$root"/etc/os-release
chown 65532:65532 "$root"/home/nonroot
chmod 1777 "$root"/tmp
tar --numeric-owner -C "$root" -cf "$work"/base.tar .

c=$(buildah from scratch); containers+=("$c")
buildah add "$c" "$work"/base.tar / >/dev/null
buildah config --os linux --arch amd64 --user 65532:65532 --workingdir /home/nonroot \
  --env PATH=/usr/local/bin:/usr/bin:/bin --env SSL_CERT_FILE=$ca_bundle \
  --entrypoint '["/usr/bin/node"]' --cmd '' "${label_args[@]}" \
  --label org.opencontainers.image.title=oci-scan-base "$c"
buildah commit --quiet --rm "$c" "$base_name" >/dev/null; containers=()

# --- BUILDER ----------------------------------------------------------------------------------
# The host's apt sources: the same mirror (and snapshot) apt uses here.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -s "$f" ] && sources+=("$f")
done
mmdebstrap --quiet --variant=essential --include=python3,make,g++ \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$work"/builder.tar "${sources[@]}"

extra=$work/builder-node
mkdir -p "$extra"/usr/bin "$extra"/usr/lib/node_modules "$extra"/usr/include "$extra"/usr/etc "$extra"/etc/ssl/certs
cp "$node_bin" "$extra"/usr/bin/node
cp -a "$node_prefix"/lib/node_modules/npm "$extra"/usr/lib/node_modules/npm
cp -a "$node_prefix"/include/node "$extra"/usr/include/node
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$extra"/usr/bin/npm
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$extra"/usr/bin/npx
# The same CAs as this machine, so npm reaches the registry the way the host does; node-gyp
# takes the headers from /usr/include/node instead of downloading them.
cp "$ca_bundle" "$extra"/etc/ssl/certs/ca-certificates.crt
printf 'registry=%s\ncafile=%s\nnodedir=/usr\naudit=false\nfund=false\nupdate-notifier=false\n' \
  "$(npm config get registry)" "$ca_bundle" >"$extra"/usr/etc/npmrc
tar --numeric-owner --owner=0 --group=0 -C "$extra" -cf "$work"/builder-node.tar .

c=$(buildah from scratch); containers+=("$c")
buildah add "$c" "$work"/builder.tar / >/dev/null
buildah add "$c" "$work"/builder-node.tar / >/dev/null
buildah config --os linux --arch amd64 --workingdir / \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=$ca_bundle --cmd '["/bin/bash"]' "${label_args[@]}" \
  --label org.opencontainers.image.title=oci-scan-builder "$c"
buildah commit --quiet --rm "$c" "$builder_name" >/dev/null; containers=()
echo "$base_name"
echo "$builder_name"
