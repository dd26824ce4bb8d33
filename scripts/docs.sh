#!/usr/bin/env bash
# docs.sh — builds the DocC archive of the ISPChecker library into .build/docs/ISPChecker.doccarchive
# with the toolchain's own docc (no plugin dependency for the package's users).
#   scripts/docs.sh            then open .build/docs/ISPChecker.doccarchive, or serve it statically
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=.build/docs/symbol-graphs
rm -rf "$graphs" .build/docs/ISPChecker.doccarchive
mkdir -p "$graphs"
ISPC_CORE_ONLY=1 swift build --target ISPChecker --scratch-path .build-docs \
    -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs"
docc convert Sources/ISPChecker/ISPChecker.docc --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name ISPChecker --fallback-bundle-identifier isp-checker.ISPChecker \
    --output-path .build/docs/ISPChecker.doccarchive
echo "docs.sh: .build/docs/ISPChecker.doccarchive"
