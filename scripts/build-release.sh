#!/usr/bin/env bash
# Builds a shipped executable the one way the README, the demo, CI and the benchmarks build it,
# and prints its path (the build's own last line goes to standard error):
#
#   cli=$(bash scripts/build-release.sh)                  # isp-checker
#   monitor=$(bash scripts/build-release.sh isp-checker-monitor)
#
# - release, with the Swift runtime linked in (--static-swift-stdlib): no Swift libraries to
#   install, and no dynamic loading of them at every start;
# - lld, packed relative relocations and no exported symbols for the CLI (Package.swift);
# - -disable-concrete-type-metadata-mangled-name-accessors, for every module of the build (the
#   dependencies' too, which Package.swift cannot reach): a generic type the code names (a
#   Dictionary of our keys, an ArgumentParser option) gets its metadata from a direct accessor
#   instead of from its mangled name. The mangled-name route checks the type's generic
#   requirements by looking protocol conformances up, and the first lookup of each scans every
#   conformance record of the binary: 0.6 ms of CPU in a 6 ms trace (docs/benchmarks.md,
#   issue 17). Code size: +0.3 %. A frontend flag, so it stays out of Package.swift, where
#   unsafe flags would stop other packages from depending on the libraries.
# - `--disable-local-rpath`: no $ORIGIN run path. The binaries need only system libraries, and
#   the search path cost ld.so about 14 failed opens under the binary's folder per start
#   (scripts/release-smoke.sh checks it is gone).
# - the C++ runtime (libstdc++, which the Swift runtime uses), libgcc and libcap linked in as well:
#   the binaries need only glibc (libc, libm) at run time. ld.so no longer maps libstdc++ (2 MB)
#   and three other libraries and binds their symbols at every start: 1.3 ms of CPU less in a
#   5.5 ms trace, 0.8 ms in `--version` (docs/benchmarks.md, issue 17). The Swift toolchain's
#   static link names `-lstdc++`; a folder of links to the static archives, searched before the
#   compiler's own folders, makes that name resolve to libstdc++.a. The archives come with
#   libstdc++-12-dev (g++) and libcap-dev; scripts/release-smoke.sh checks the binaries' NEEDED list.
set -euo pipefail
cd "$(dirname "$0")/.."
product=${1:-isp-checker}
static_libs=.build/static-libs
mkdir -p "$static_libs"
for archive in libstdc++.a libcap.a; do
    found=$(clang -print-file-name="$archive")   # the Swift toolchain's clang, which links
    if [[ $found != /* || ! -f $found ]]; then
        echo "build-release: $archive not found (clang -print-file-name): install libstdc++-12-dev (g++) and libcap-dev (sudo bash scripts/install-deps.sh)" >&2
        exit 1
    fi
    ln -sfn "$found" "$static_libs/$archive"
done
flags=(-c release --static-swift-stdlib --disable-local-rpath
       -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
       -Xswiftc -L -Xswiftc "$PWD/$static_libs" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc)
if ! swift build "${flags[@]}" --product "$product" 2>&1 | tail -n 1 >&2; then
    echo "build-release: swift build of $product failed" >&2
    exit 1
fi
echo "$(swift build -c release --show-bin-path)/$product"
