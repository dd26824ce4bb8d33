#!/usr/bin/env bash
# Builds the isp-checker container image without a registry and prints the path of the OCI
# archive it writes (`podman load -i PATH` or `skopeo copy oci-archive:PATH …` takes it from there):
#
#   sudo bash scripts/image.sh            # .build/image/isp-checker-VERSION.oci.tar
#
# The same image as the Containerfile's (docs/deployment.md, "Container image"), made here from:
# - the release binaries of scripts/build-release.sh (isp-checker, isp-checker-monitor: static
#   Swift runtime) in /usr/local/bin, without debug info, each with the file capability
#   cap_net_raw+ep;
# - the Debian packages of deploy/image/runtime-packages and their dependencies, fetched by
#   apt-get from the mirror the machine's apt sources name and unpacked with dpkg-deb into a
#   merged-/usr root (no shell, no apt: nothing runs in the image but the two binaries). The
#   maintainer scripts are not run; the one output that matters, ca-certificates' bundle, is
#   built here as update-ca-certificates builds it;
# - a user isp-checker (uid and gid 10001), the entrypoint isp-checker-monitor --config
#   /etc/isp-checker/checker.yaml (mount the file there), port 9464, /var/lib/isp-checker owned
#   by the user for a SQLite store or a spool.
# `podman import` turns the root's tarball into an image and `podman save` writes the archive;
# podman keeps its state under .build/image/podman, so the machine's own store is not touched.
#
# Unpacking packages instead of debootstrap: about 10 s against 2 minutes and more for a minbase
# debootstrap plus the libraries (docs/benchmarks.md). The archive is cached by its inputs (the
# binaries, the resolved package versions, this script and the package list): a rerun with
# nothing changed prints the cached path after the incremental release build.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "image.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "run as root (sudo $0): the root's files must be owned by root and carry file capabilities"
for tool in apt-get dpkg-deb podman setcap getcap sha256sum strip tar; do
    command -v "$tool" >/dev/null || fail "$tool not found: sudo bash scripts/install-deps.sh installs it (podman, libcap2-bin)"
done

readonly UID_GID=10001
readonly WORK=.build/image
mkdir -p "$WORK"

cli=$(bash scripts/build-release.sh isp-checker)
monitor=$(bash scripts/build-release.sh isp-checker-monitor)
version=$("$cli" --version | awk '{print $1}')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "isp-checker --version printed '$version'"

# The packages: the list's names, each resolved with its dependencies by apt as if nothing were
# installed (an empty dpkg status); ca-certificates alone, without openssl, debconf and perl
# that only its maintainer script needs.
mapfile -t wanted < <(sed 's/#.*//' deploy/image/runtime-packages | tr -s ' \t' '\n' | grep -v '^$')
libraries=() data=()
for package in "${wanted[@]}"; do
    if [[ $package == ca-certificates ]]; then data+=("$package"); else libraries+=("$package"); fi
done
[[ -f $WORK/empty-status ]] || : > "$WORK/empty-status"   # kept: its time is part of apt's cache key
apt_options=(-o "Dir::State::status=$PWD/$WORK/empty-status" -o "Dir::Cache=$PWD/$WORK/apt-cache"
             -o "Dir::Cache::archives=$PWD/$WORK/debs"
             -o Debug::NoLocking=1 -o APT::Sandbox::User=root
             -o APT::Install-Recommends=false -o APT::Install-Suggests=false)
mkdir -p "$WORK/debs/partial" "$WORK/apt-cache"
resolve() {
    apt-get "${apt_options[@]}" -s install "${libraries[@]}" 2>&1 | awk '/^Inst /{print $2, $3}' | tr -d '(' | sort
    for package in "${data[@]}"; do
        printf '%s %s\n' "$package" "$(apt-cache "${apt_options[@]}" policy "$package" | awk '/Candidate:/{print $2}')"
    done
}
resolved=$(resolve)
if [[ -z $resolved || $resolved == *"(none)"* ]]; then
    # A machine whose package lists were never fetched, or are older than the mirror.
    apt-get update -qq
    resolved=$(resolve)
fi
[[ -n $resolved && $resolved != *"(none)"* ]] || fail "apt cannot resolve ${wanted[*]} from /etc/apt/sources.list*: $resolved"

key=$( { sha256sum "$cli" "$monitor" "$0" deploy/image/runtime-packages | awk '{print $1}'; echo "$resolved"; } | sha256sum | cut -c1-16)
archive=$WORK/isp-checker-$version.oci.tar
if [[ -f $WORK/key && $(cat "$WORK/key") == "$key" && -f $archive ]]; then
    echo "image.sh: $archive is up to date (inputs $key)" >&2
    echo "$archive"
    exit 0
fi

fetch() {
    apt-get "${apt_options[@]}" -qq -d -y install "${libraries[@]}" >/dev/null &&
        (cd "$WORK/debs" && apt-get "${apt_options[@]}" -qq download "${data[@]}")
}
fetch || { apt-get update -qq && fetch; } || fail "apt-get could not fetch the packages (mirror from /etc/apt/sources.list*)"

root=$WORK/rootfs
rm -rf "$root"
mkdir -p "$root"/usr/{bin,sbin,lib,lib64}
for link in bin sbin lib lib64; do ln -s "usr/$link" "$root/$link"; done
while read -r package package_version; do
    deb=$WORK/debs/${package%%:*}_${package_version//:/%3a}_$(dpkg --print-architecture).deb
    [[ -f $deb ]] || deb=$WORK/debs/${package%%:*}_${package_version//:/%3a}_all.deb
    [[ -f $deb ]] || fail "no .deb for $package $package_version in $WORK/debs"
    dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$root"
done <<<"$resolved"
rm -rf "$root"/usr/share/{man,info,lintian,bug,locale} "$root"/usr/share/doc/*/changelog*

# update-ca-certificates' result with the default selection (every Mozilla root).
mkdir -p "$root/etc/ssl/certs"
cat "$root"/usr/share/ca-certificates/mozilla/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
[[ -s $root/etc/ssl/certs/ca-certificates.crt ]] || fail "ca-certificates gave no roots"

mkdir -p "$root"/{etc/isp-checker,var/lib/isp-checker,usr/local/bin,tmp,run,proc,sys,dev}
chmod 1777 "$root/tmp"
cat > "$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
isp-checker:x:$UID_GID:$UID_GID:isp-checker:/var/lib/isp-checker:/usr/sbin/nologin
EOF
cat > "$root/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
isp-checker:x:$UID_GID:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
cp /usr/share/zoneinfo/UTC "$root/etc/localtime" 2>/dev/null || true
chown "$UID_GID:$UID_GID" "$root/var/lib/isp-checker"
chmod 0750 "$root/var/lib/isp-checker"

# Without their DWARF (a third of the monitor); the symbol table stays, for backtraces.
install -m 0755 "$cli" "$root/usr/local/bin/isp-checker"
install -m 0755 "$monitor" "$root/usr/local/bin/isp-checker-monitor"
strip --strip-debug "$root/usr/local/bin/isp-checker" "$root/usr/local/bin/isp-checker-monitor"
# CAP_NET_RAW on the file: a non-root user gets it at exec, as Kubernetes and most runtimes give
# an added capability to a non-root container only in its bounding set (docs/deployment.md).
setcap cap_net_raw+ep "$root/usr/local/bin/isp-checker" cap_net_raw+ep "$root/usr/local/bin/isp-checker-monitor"

# Every library the binaries link or open with dlopen resolves inside the root.
for binary in usr/local/bin/isp-checker usr/local/bin/isp-checker-monitor \
              usr/lib/x86_64-linux-gnu/libpcap.so.0.8 usr/lib/x86_64-linux-gnu/libcurl.so.4 \
              usr/lib/x86_64-linux-gnu/libldns.so.3; do
    [[ -e $root/$binary ]] || fail "$binary is missing from the image (deploy/image/runtime-packages)"
    libraries_of=$(chroot "$root" /lib64/ld-linux-x86-64.so.2 --list "/$binary") || fail "the image's loader cannot load /$binary"
    [[ $libraries_of != *"not found"* ]] || fail "/$binary needs a library the image lacks: $(grep 'not found' <<<"$libraries_of")"
done
chroot "$root" /usr/local/bin/isp-checker --version >/dev/null || fail "isp-checker --version does not run inside the image"
if found=$(find "$root" -xdev -perm /6000 -type f | head -n 5) && [[ -n $found ]]; then
    fail "set-user-ID or set-group-ID files in the image (none may be there): $found"
fi

# One reproducible layer: sorted names, numeric owners, a fixed time, file capabilities kept.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar --sort=name --numeric-owner --mtime="@$epoch" --xattrs --xattrs-include='security.capability' \
    -C "$root" -cf "$WORK/rootfs.tar" .

podman_store=(--root "$PWD/$WORK/podman/storage" --runroot "$PWD/$WORK/podman/run" --storage-driver vfs)
rm -rf "$WORK/podman"
name=localhost/isp-checker:$version
podman "${podman_store[@]}" import -q \
    --change "USER $UID_GID:$UID_GID" \
    --change 'WORKDIR /var/lib/isp-checker' \
    --change 'ENTRYPOINT ["/usr/local/bin/isp-checker-monitor", "--config", "/etc/isp-checker/checker.yaml"]' \
    --change 'EXPOSE 9464/tcp' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin' \
    --change "LABEL org.opencontainers.image.title=isp-checker" \
    --change "LABEL org.opencontainers.image.version=$version" \
    --message "scripts/image.sh" \
    "$WORK/rootfs.tar" "$name" >/dev/null
rm -f "$archive"
podman "${podman_store[@]}" save -q --format oci-archive -o "$archive" "$name"
rm -rf "$WORK/podman" "$WORK/rootfs.tar" "$root"
echo "$key" > "$WORK/key"
echo "image.sh: $archive ($name, $(du -h "$archive" | cut -f1), inputs $key)" >&2
echo "$archive"
