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
# The library is one target per layer, re-exported by `import ISPChecker`: document it as the one
# module its users import, so the catalog's links (``PingResult``, ``CircuitBreaker``) resolve.
# Each layer's symbol graph (and its extensions of another layer) is renamed into ISPChecker's.
python3 - "$graphs" <<'PYTHON'
import glob, json, os, sys
folder = sys.argv[1]
layers = {"ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerCore", "ISPCheckerAnalysis", "ISPCheckerResilience"}
for path in glob.glob(os.path.join(folder, "*.symbols.json")):
    name = os.path.basename(path)[: -len(".symbols.json")]
    module, _, extended = name.partition("@")
    if module not in layers or (extended and extended not in layers | {"ISPChecker"}):
        continue
    with open(path) as file:
        graph = json.load(file)
    graph["module"]["name"] = "ISPChecker"
    os.remove(path)
    with open(os.path.join(folder, f"ISPChecker-{name.replace('@', '-on-')}.symbols.json"), "w") as file:
        json.dump(graph, file)
PYTHON
docc convert Sources/ISPChecker/ISPChecker.docc --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name ISPChecker --fallback-bundle-identifier isp-checker.ISPChecker \
    --output-path .build/docs/ISPChecker.doccarchive
echo "docs.sh: .build/docs/ISPChecker.doccarchive"
